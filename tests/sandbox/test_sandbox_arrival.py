"""The limiter counts a request when it reached the server, not when a busy thread read it."""

from __future__ import annotations

import io
import socket
import time

import pytest

from tap_acefone.sandbox import Sandbox
from tap_acefone.sandbox.realtime import ManualTime, SystemTime
from tap_acefone.sandbox.server import SO_TIMESTAMPNS, Request, StampedSocketReader
from tests.sandbox.conftest import AUTH

needs_timestamps = pytest.mark.skipif(SO_TIMESTAMPNS is None, reason="no SO_TIMESTAMPNS here")


@needs_timestamps
def test_the_receive_stamp_is_when_the_bytes_came_not_when_they_are_read():
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        with socket.create_connection(server.getsockname()) as client:
            conn, _ = server.accept()
            with conn:
                before = time.time_ns()
                client.sendall(b"GET / HTTP/1.1\r\n\r\n")
                sent_by = time.time_ns()
                while time.time_ns() <= sent_by:  # the reader comes strictly later
                    pass
                stamped = StampedSocketReader(conn)
                with io.BufferedReader(stamped) as reader:
                    assert reader.peek(1).startswith(b"GET / HTTP/1.1\r\n\r\n")
                    received = stamped.received
                    assert received is not None
                    assert before / 1e9 - 1e-6 <= received <= sent_by / 1e9 + 1e-6
                    assert reader.read(18) == b"GET / HTTP/1.1\r\n\r\n"


def _request(received_wall: float | None) -> Request:
    return Request("GET", "/v1/call/records", "", {}, b"", received_wall=received_wall)


def test_a_request_read_late_is_stamped_when_it_was_received(start_sandbox):
    sb = start_sandbox(realtime=SystemTime(), rate_limit=3, rate_limit_kind="sliding_window")
    app = sb._server.app
    late = _request(time.time() - 0.25)  # waited a quarter of a second for a handler thread
    app._arrive(late)
    assert late.arrived_at is not None
    assert late.arrived_at <= time.monotonic() - 0.25 + 1e-4


def test_the_modelled_network_delay_stays_on_top(start_sandbox):
    sb = start_sandbox(realtime=SystemTime(), rate_limit=3, rate_limit_kind="sliding_window")
    first = time.monotonic()
    request = _request(time.time() - 0.25)  # 0.25 s old, of which 0.1 s the modelled jitter
    sb._server.app._arrive(request, 0.1)
    last = time.monotonic()
    assert request.arrived_at is not None
    assert first - 0.15 - (last - first) - 1e-4 <= request.arrived_at <= last - 0.15 + 1e-4


def test_hand_driven_time_ignores_the_kernel_clock(start_sandbox):
    clock = ManualTime(start=1000.0)
    sb = start_sandbox(realtime=clock, rate_limit=3, rate_limit_kind="sliding_window")
    request = _request(time.time() - 5.0)
    sb._server.app._arrive(request)
    assert request.arrived_at == 1000.0


def _raw_get(path: str) -> bytes:
    auth = AUTH["Authorization"]
    return f"GET {path} HTTP/1.1\r\nHost: sandbox\r\nAuthorization: {auth}\r\n\r\n".encode()


def _answers(conn: socket.socket, count: int) -> list[bytes]:
    """`count` whole HTTP answers off one keep-alive connection (they carry Content-Length)."""
    answers = []
    with conn.makefile("rb") as reader:
        for _ in range(count):
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                head += reader.readline()
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            answers.append(head + reader.read(length))
    return answers


def _sent_while_held(sb: Sandbox, payload: bytes, count: int) -> tuple[list[bytes], float]:
    """Send `payload` while the sandbox's limiter is held; its answers, and when it was let go.

    No handler can count a request before the lock is released, so an arrival stamped before
    that moment came from the kernel's receive time, not from when the handler got to it.
    """
    host, port = sb.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        with sb._server.app._arrival_lock:
            conn.sendall(payload)
            sent_by = time.monotonic()
            while time.monotonic() < sent_by + 0.05:  # the handler is held back, on purpose
                pass
            released = time.monotonic()
        return _answers(conn, count), released


@needs_timestamps
def test_a_served_request_is_stamped_when_it_reached_the_server_not_when_it_was_handled(
    start_sandbox,
):
    sb = start_sandbox(
        realtime=SystemTime(), rate_limit=3, rate_limit_kind="sliding_window", log_requests=True
    )
    (answer,), released = _sent_while_held(sb, _raw_get("/v1/call/records?page=1&limit=1"), 1)
    assert answer.startswith(b"HTTP/1.1 200")
    (entry,) = sb.request_log()
    assert entry.arrived_at < released


@needs_timestamps
def test_requests_sent_back_to_back_on_one_connection_are_each_answered_and_stamped(start_sandbox):
    # Pipelined: the second request is already read into the handler's buffer with the first,
    # so no peek at the socket may wait for it, and it keeps the stamp of the read that brought it.
    sb = start_sandbox(realtime=SystemTime(), log_requests=True)
    both = _raw_get("/v1/call/records?page=1&limit=1") + _raw_get("/v1/call/records?page=2&limit=1")
    answers, released = _sent_while_held(sb, both, 2)
    assert [a[:12] for a in answers] == [b"HTTP/1.1 200"] * 2
    entries = sb.request_log()
    assert [e.params.get("page") for e in entries] == [["1"], ["2"]]
    assert all(e.arrived_at < released for e in entries)
