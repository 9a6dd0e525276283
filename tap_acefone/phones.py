"""Phone numbers in E.164, so calls can be matched with CRM records stored as +91..., 91..., 0...

Raw values stay untouched; the E.164 form is an extra column. Extensions and other values that
are not phone numbers give null rather than a made-up number.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

# Digits with the usual separators and an optional leading +; anything with letters
# ("Extension-0602141810277", "anonymous") is not a phone number.
_PHONE_LIKE = re.compile(r"^\+?[\d\s\-().]{6,24}$")


@lru_cache(maxsize=65536)
def to_e164(value: str, region: str) -> str | None:
    """`value` in E.164 when it is a possible phone number, read in `region` if national."""
    text = value.strip()
    if not _PHONE_LIKE.match(text):
        return None
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def e164_or_none(value: object, region: str) -> str | None:
    """Like `to_e164`, for a field of any type."""
    return to_e164(value, region) if isinstance(value, str) else None


def is_region(code: str) -> bool:
    """Whether `code` is a region phonenumbers knows (IN, GB, US, ...)."""
    return code.upper() in phonenumbers.SUPPORTED_REGIONS
