"""An API that misbehaves in ways the sandbox does not model: shapes of the whole response.

Each case must still end in one of the two outcomes (complete and correct, or a non-zero exit
with one line), within the subprocess timeout.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from tests.faults.support import STATIC_TOKEN, assert_fails_cleanly, run_cli

Answer = tuple[int, bytes]


class _API(BaseHTTPRequestHandler):
    """Answers /v1/call/records with `answer(path)`; the reference endpoints with 403."""

    answer: ClassVar[Callable[[str], Answer]] = staticmethod(lambda path: (200, b"{}"))

    def do_GET(self) -> None:
        if self.path.startswith("/v1/call/records"):
            status, body = type(self).answer(self.path)
        else:
            status, body = 403, b'{"message":"Missing Authentication Token"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def api() -> Iterator[Callable[[Callable[[str], Answer]], dict]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _API)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()

    def serve(answer: Callable[[str], Answer]) -> dict:
        _API.answer = staticmethod(answer)  # type: ignore[assignment]
        return {
            "api_url": f"http://127.0.0.1:{server.server_address[1]}",
            "api_token": STATIC_TOKEN,
            "start_date": "2026-03-09T00:00:00+00:00",
            "end_date": "2026-03-10T00:00:00+00:00",
            "window_hours": 24,
            "requests_per_second": 100,
            "max_tries": 2,
        }

    yield serve
    server.shutdown()
    server.server_close()
    thread.join(5)


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
