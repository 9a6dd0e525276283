"""One lenient reader for every number of an envelope, and the page it builds."""

from __future__ import annotations

import math

import pytest

from tap_acefone.pages import Page, read_flag, read_number


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (531, 531),
        ("531", 531),
        (" 531 ", 531),
        (531.0, 531),
        ("531.0", 531),
        ("1e3", 1000),
        (0, 0),
        ("0", 0),
        (None, None),
        (True, None),
        (False, None),
        (-1, None),
        ("-1", None),
        (531.5, None),
        ("531.5", None),
        (math.nan, None),
        (math.inf, None),
        ("", None),
        ("many", None),
        ([531], None),
        ({"n": 531}, None),
    ],
)
def test_read_number(value, expected):
    assert read_number(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        ("true", True),
        ("1", True),
        ("false", False),
        ("0", False),
        (" TRUE ", True),
        (None, False),
        ("yes", True),
    ],
)
def test_read_flag(value, expected):
    assert read_flag(value) is expected


def test_a_page_reads_every_envelope_number_the_same_way():
    body = {"count": "45", "limit": 20.0, "size": "20", "page": "2", "results": [{"id": 7}, "x"]}
    page = Page.from_body(body, "results", clean=True)
    assert (page.count, page.limit, page.size) == (45, 20, 1)
    assert page.ids == frozenset({"7"})
    assert page.meta["page"] == "2"


def test_rows_without_an_id_have_no_id_on_the_page():
    page = Page.from_body([{"id": None}, {"id": ""}, {"x": 1}, {"id": "a"}], None, clean=False)
    assert page.ids == frozenset({"a"})
    assert page.size == 4
