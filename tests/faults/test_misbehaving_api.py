"""An API that misbehaves in ways the sandbox does not model: shapes of the whole response.

Each case must still end in one of the two outcomes (complete and correct, or a non-zero exit
with one line), within the subprocess timeout.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.faults.support import (
    Answer,
    FakeAPI,
    assert_fails_cleanly,
    fake_api_config,
    run_cli,
    serving,
)


class _API(FakeAPI):
    """This module's answers."""


@pytest.fixture
def api() -> Iterator[Callable[[Callable[[str], Answer]], dict]]:
    with serving(_API) as server:

        def serve(answer: Callable[[str], Answer]) -> dict:
            _API.answer = staticmethod(answer)  # type: ignore[assignment]
            return fake_api_config(server)

        yield serve


def _json(status: int, body: Any) -> Answer:
    return status, json.dumps(body).encode()


def test_a_400_is_fatal_with_the_apis_message(api, tmp_path):
    config = api(lambda path: _json(400, {"success": False, "message": "Invalid date format"}))
    run = run_cli(config, tmp_path, timeout=30)
    assert_fails_cleanly(run, None, "HTTP 400", "Invalid date format")


@pytest.mark.parametrize(
    "body",
    [[{"id": "a"}], {"count": 1, "results": {"id": "a"}}, {"count": 1}, "results"],
    ids=["top-level-list", "results-an-object", "no-results", "a-string"],
)
def test_an_envelope_of_the_wrong_shape_is_retried_then_fails_in_one_line(api, tmp_path, body):
    run = run_cli(api(lambda path: _json(200, body)), tmp_path, timeout=30)
    assert_fails_cleanly(run, None, "failed 2 times in a row", "unexpected response shape")


def test_a_deeply_nested_body_is_a_malformed_body_not_a_crash(api, tmp_path):
    run = run_cli(api(lambda path: (200, b"[" * 100_000)), tmp_path, timeout=30)
    assert_fails_cleanly(run, None, "failed 2 times in a row", "not JSON")


def test_a_server_that_ignores_the_page_number_does_not_hang_the_tap(api, tmp_path):
    page = {"limit": 2, "results": [{"id": "a", "date": "2026-03-09"}, {"id": "b"}]}
    run = run_cli(api(lambda path: _json(200, page)), tmp_path, timeout=5)
    assert not run.timed_out, "the tap paged forever"
    assert run.returncode == 0, run.describe()
    assert sorted(run.ids) == ["a", "b"]
