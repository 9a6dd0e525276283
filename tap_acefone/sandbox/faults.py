"""Fault configuration and the seeded, per-request fault draw.

Faults model what clients of the real API run into: throttling (429 and the
``success: "false"`` page), API Gateway HTML error pages, bodies cut mid-JSON, non-JSON
200s, dropped connections and slow answers. Every /v1 request draws the same number of
random values in arrival order, so a given ``Faults.seed`` and request sequence always
produces the same faults.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

#: Fault kinds that replace the normal response (at most one per request).
EXCLUSIVE_KINDS = (
    "429",
    "5xx",
    "truncated_json",
    "invalid_json",
    "success_false",
    "reset",
)
#: Kinds accepted in ``Faults.fail_next``; "502"/"503"/"504" pin the 5xx status.
QUEUE_KINDS = (*EXCLUSIVE_KINDS, "502", "503", "504", "slow")
GATEWAY_STATUSES = (502, 503, 504)


@dataclass
class Faults:
    """Fault rates (probabilities per /v1 request) and deterministic knobs.

    The exclusive rates (``rate_429`` … ``rate_reset``) must sum to at most 1; one uniform
    draw picks at most one of them. ``rate_slow`` is drawn independently and delays the
    answer (whatever it is) by ``slow_seconds``. ``fail_next`` is a queue of kinds applied
    to the next requests in order, before any random fault, so a test can say "the next 3
    requests get 429" without relying on probabilities.
    """

    seed: int = 0
    rate_429: float = 0.0
    rate_5xx: float = 0.0
    rate_truncated_json: float = 0.0
    rate_invalid_json: float = 0.0
    rate_success_false: float = 0.0
    rate_reset: float = 0.0
    rate_slow: float = 0.0
    slow_seconds: float = 5.0
    apply_to_login: bool = False
    fail_next: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in (*(f"rate_{k}" for k in EXCLUSIVE_KINDS), "rate_slow"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ValueError(f"{name} must be a number, got {value!r}")
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
        if sum(self._exclusive_rates()) > 1.0 + 1e-9:
            raise ValueError("the exclusive fault rates (all but rate_slow) must sum to <= 1")
        if not isinstance(self.slow_seconds, (int, float)) or self.slow_seconds < 0:
            raise ValueError(f"slow_seconds must be >= 0, got {self.slow_seconds!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ValueError(f"fault seed must be an integer, got {self.seed!r}")
        self.fail_next = list(self.fail_next)
        for kind in self.fail_next:
            if kind not in QUEUE_KINDS:
                raise ValueError(
                    f"unknown fault kind {kind!r} in fail_next; use one of {QUEUE_KINDS}"
                )

    def _exclusive_rates(self) -> list[float]:
        return [float(getattr(self, f"rate_{k}")) for k in EXCLUSIVE_KINDS]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view (the admin endpoint returns it)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Faults:
        """Build from a JSON object, rejecting unknown keys so typos do not pass silently."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(unknown)}")
        return cls(**data)


@dataclass(frozen=True)
class FaultDecision:
    """What to do to one request.

    ``kind`` is None to answer normally; ``slow`` delays the answer; ``status`` is the 5xx
    status to send; ``aux`` in [0, 1) picks the truncation point.
    """

    kind: str | None
    slow: bool
    status: int
    aux: float


NO_FAULT = FaultDecision(kind=None, slow=False, status=200, aux=0.0)


class FaultInjector:
    """Draws a :class:`FaultDecision` per request from a RNG seeded by ``Faults.seed``."""

    def __init__(self, faults: Faults | None = None) -> None:
        self._lock = threading.Lock()
        self._faults = Faults()
        self._rng = random.Random(0)
        self._queue: deque[str] = deque()
        self.configure(faults or Faults())

    @property
    def faults(self) -> Faults:
        """The active configuration; ``fail_next`` lists the kinds still queued."""
        with self._lock:
            return replace(self._faults, fail_next=list(self._queue))

    @property
    def slow_seconds(self) -> float:
        """The active ``slow_seconds`` (cheaper than copying :attr:`faults`)."""
        with self._lock:
            return self._faults.slow_seconds

    def configure(self, faults: Faults) -> None:
        """Replace the configuration and reseed, so the draw sequence restarts."""
        with self._lock:
            self._faults = faults
            self._rng = random.Random(faults.seed)
            self._queue = deque(faults.fail_next)

    def draw(self, *, is_login: bool) -> FaultDecision:
        """Decide the fault for the next request.

        Exactly four random numbers are consumed per call (even when no fault is active or
        the request is a login that faults do not apply to), so the outcome for request *n*
        depends only on the seed and *n*.
        """
        with self._lock:
            faults = self._faults
            u_kind, u_slow, u_status, u_aux = (self._rng.random() for _ in range(4))
            if is_login and not faults.apply_to_login:
                return NO_FAULT
            status = GATEWAY_STATUSES[int(u_status * len(GATEWAY_STATUSES))]
            if self._queue:
                queued = self._queue.popleft()
                if queued == "slow":
                    return FaultDecision(kind=None, slow=True, status=200, aux=u_aux)
                if queued in ("502", "503", "504"):
                    return FaultDecision(kind="5xx", slow=False, status=int(queued), aux=u_aux)
                return FaultDecision(kind=queued, slow=False, status=status, aux=u_aux)
            kind = None
            edge = 0.0
            for name, rate in zip(EXCLUSIVE_KINDS, faults._exclusive_rates(), strict=True):
                edge += rate
                if u_kind < edge:
                    kind = name
                    break
            return FaultDecision(
                kind=kind, slow=u_slow < faults.rate_slow, status=status, aux=u_aux
            )
