"""Phone numbers in E.164 whatever form the API or a CRM uses; null for non-numbers."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tap_acefone.phones import _parsed_e164, e164_or_none, is_region, to_e164


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+919876543210", "IN", "+919876543210"),
        ("+91 98765 43210", "IN", "+919876543210"),
        ("919876543210", "IN", "+919876543210"),
        ("09876543210", "IN", "+919876543210"),
        ("9876543210", "IN", "+919876543210"),
        ("+91-80-6985-8731", "IN", "+918069858731"),
        ("020 7946 0018", "GB", "+442079460018"),
        ("020 7946 0018", "gb", "+442079460018"),
        ("080 6985 8731", "in", "+918069858731"),
        ("+442079460018", "IN", "+442079460018"),
        ("Extension-0602141810277", "IN", None),
        ("anonymous", "IN", None),
        ("", "IN", None),
        ("12", "IN", None),
        (None, "IN", None),
        (919876543210, "IN", None),
    ],
)
def test_e164(raw, region, expected):
    assert e164_or_none(raw, region) == expected


def test_regions():
    assert is_region("IN")
    assert is_region("gb")
    assert not is_region("XX")


MOBILE = st.builds(
    lambda prefix, first, rest, pad: f"{pad}{prefix}{first}{rest}{pad}",
    st.sampled_from(["", "0", "91", "+91"]),
    st.sampled_from("6789"),
    st.text("0123456789", min_size=9, max_size=9),
    st.sampled_from(["", " "]),
)
NEAR_MISSES = st.text("0123456789+ -٣", max_size=16)


@settings(max_examples=2000, derandomize=True)
@given(raw=st.one_of(MOBILE, NEAR_MISSES), region=st.sampled_from(["IN", "in", "GB"]))
def test_the_indian_mobile_shortcut_agrees_with_phonenumbers(raw, region):
    """to_e164 skips phonenumbers for Indian mobiles; the answer must be the one it would give."""
    assert to_e164(raw, region) == _parsed_e164(raw.strip(), region.upper())
