"""The limiter counts a request when it reached the server, not when a busy thread read it."""

from __future__ import annotations

import socket
import time

import pytest

from tap_acefone.sandbox.realtime import ManualTime, SystemTime
from tap_acefone.sandbox.server import SO_TIMESTAMPNS, Request, kernel_receive_time

needs_timestamps = pytest.mark.skipif(SO_TIMESTAMPNS is None, reason="no SO_TIMESTAMPNS here")


@needs_timestamps
def test_the_kernel_receive_time_is_when_the_bytes_came_not_when_they_are_read():
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
                received = kernel_receive_time(conn)
                assert received is not None
                assert before / 1e9 - 1e-6 <= received <= sent_by / 1e9 + 1e-6
                assert conn.recv(100) == b"GET / HTTP/1.1\r\n\r\n"  # peeked, not consumed


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
