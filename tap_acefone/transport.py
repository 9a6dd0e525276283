"""The tap's HTTP connections: keep-alive pools that tell the pacer when a request has left.

The pacer counts a request as started when it lets it go, but the request reaches its socket
only after the thread has made its way through requests and urllib3, and a thread that has
to wait for the interpreter behind another thread's C work (decoding a 1000-row page holds
it for 10 ms or more; a garbage collection longer) arrives at the server late: too close to
the requests that follow it for a sliding-window limiter counting arrivals. Neither library
has a hook for the moment the request is written, so the connection class urllib3 uses is
subclassed to call `pacing.request_sent` right after it has written the request; the pacer
then counts the start from that moment (`make bench` row a, README Performance: the
sliding-window 429 of the earlier run is gone).
"""

from __future__ import annotations

from typing import Any

from requests.adapters import DEFAULT_POOLBLOCK, HTTPAdapter
from typing_extensions import override
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager

from tap_acefone.pacing import request_sent


class StampedHTTPConnection(HTTPConnection):
    """An HTTP connection that reports each request as sent once it is written."""

    @override
    def request(self, *args: Any, **kwargs: Any) -> None:
        super().request(*args, **kwargs)
        request_sent()


class StampedHTTPSConnection(HTTPSConnection):
    """An HTTPS connection that reports each request as sent once it is written."""

    @override
    def request(self, *args: Any, **kwargs: Any) -> None:
        super().request(*args, **kwargs)
        request_sent()


class _StampedHTTPPool(HTTPConnectionPool):
    ConnectionCls = StampedHTTPConnection


class _StampedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = StampedHTTPSConnection


_POOLS: dict[str, type[HTTPConnectionPool]] = {
    "http": _StampedHTTPPool,
    "https": _StampedHTTPSPool,
}


class StampedAdapter(HTTPAdapter):
    """requests' adapter whose pools (direct or through an HTTP proxy) use stamped connections.

    A SOCKS proxy keeps urllib3's own connections: its requests are counted when the pacer
    lets them go, as everywhere before this module.
    """

    @override
    def init_poolmanager(
        self,
        connections: int,
        maxsize: int,
        block: bool = DEFAULT_POOLBLOCK,
        **pool_kwargs: Any,
    ) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        _stamped(self.poolmanager)

    @override
    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> PoolManager:
        manager: PoolManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            _stamped(manager)
        return manager


def _stamped(manager: PoolManager) -> None:
    manager.pool_classes_by_scheme = dict(_POOLS)
