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
# An Indian mobile number as the API writes it (+91 / 91 / 0 / bare, then 10 digits from 6-9):
# most customer numbers. Read in region IN, phonenumbers gives "+91" + the 10 digits for every
# one of them (tests/test_phones.py checks the two agree), at a fraction of its cost.
_IN_MOBILE = re.compile(r"(?:\+91|91|0)?([6-9][0-9]{9})")


def to_e164(value: str, region: str) -> str | None:
    """`value` in E.164 when it is a possible phone number, read in `region` if national.

    `region` is case-insensitive ("in" works as "IN"; phonenumbers itself would refuse it).
    """
    text = value.strip()
    if not region.isupper():
        region = region.upper()
    if region == "IN" and (mobile := _IN_MOBILE.fullmatch(text)):
        return "+91" + mobile.group(1)
    return _parsed_e164(text, region)


# Customer numbers rarely repeat, so a cache pays only for the few DIDs, agent phones and
# foreign numbers that do; its size bounds the memory it takes.
@lru_cache(maxsize=4096)
def _parsed_e164(text: str, region: str) -> str | None:
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
