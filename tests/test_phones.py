"""Phone numbers in E.164 whatever form the API or a CRM uses; null for non-numbers."""

import pytest

from tap_acefone.phones import e164_or_none, is_region


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
