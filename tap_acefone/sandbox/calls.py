"""Deterministic call generation, one account-local day at a time.

A day's calls are a pure function of (seed, team, time zone, burst size, local date), so any
day can be regenerated on demand and only a few days need to be held in memory. This module draws
only what decides *which* calls exist and what filters see (start, durations, routing,
visibility and mutation instants); the cosmetic detail of each record (id formats, type
variance, call_flow) is drawn later from the call's own ``rseed`` (see ``records.py``).
"""

from __future__ import annotations

import bisect
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from .people import Team

INBOUND, OUTBOUND, CLICKTOCALL, DIALER, BROADCAST = range(5)
DIRECTIONS = ("inbound", "outbound", "outbound", "outbound", "outbound")
CALL_HINTS = ("inbound", "outbound", "clicktocall", "dialer", "outbound")

LOCAL_FORMAT = "%Y-%m-%d %H:%M:%S"
#: Relative call volume per local hour: a business-hours peak, thin nights.
# fmt: off
HOURLY_CURVE = (
    0.6, 0.5, 0.4, 0.35, 0.35, 0.5, 0.9, 1.8, 3.5, 6.0, 8.0, 8.5,   # 00-11 local
    8.0, 7.2, 7.8, 8.0, 7.5, 6.5, 5.0, 3.8, 2.8, 2.0, 1.3, 0.9,     # 12-23 local
)
# fmt: on
#: Relative volume Monday..Sunday (mean ~0.97, so a week averages close to calls_per_day).
WEEKDAY_FACTOR = (1.1, 1.1, 1.1, 1.1, 1.05, 0.8, 0.55)
#: Share of calls whose CDR arrives 10-90 minutes after hangup instead of 5-90 seconds.
LATE_RATE = 0.02
#: Share of calls that get notes / custom_status / a disposition after first being visible.
ANNOTATE_RATE = 0.15


class Call:
    """The skeleton of one call: everything filters and visibility need, nothing cosmetic.

    ``__slots__`` keeps a 100k-call day at a few tens of MB.
    """

    __slots__ = (
        "agent",
        "answered",
        "broadcast",
        "client",
        "dept",
        "did",
        "index",
        "ivr",
        "kind",
        "local",
        "missed",
        "note_at",
        "oid",
        "ordinal",
        "pre",
        "rec_at",
        "ring",
        "ring_missed",
        "rseed",
        "service",
        "shuffle",
        "start",
        "talk",
        "visible",
        "voicemail",
    )

    ordinal: int  # local date ordinal of the day the call belongs to
    index: int  # position within the day, in (local start, id) order
    start: int  # true UTC start, epoch seconds (the epoch in call_id)
    pre: int  # seconds before any agent/customer rings (IVR, agent leg of click-to-call)
    ring_missed: int  # seconds spent ringing agents who missed it
    ring: int  # ring seconds of the answering leg (or the unanswered customer leg)
    talk: int  # answered seconds (or voicemail seconds when ``voicemail``)
    kind: int
    answered: bool
    voicemail: bool
    agent: int  # answering / initiating agent index, -1 when none
    missed: tuple[int, ...]  # agents who rang and missed it
    dept: int
    ivr: int
    did: int
    client: int
    broadcast: int  # index into Team.broadcast_ids, -1 when not a broadcast call
    service: str
    local: str  # local "Y-m-d H:i:s" of the start
    oid: str  # 24-hex ObjectId, timestamp part from the end time
    visible: int  # epoch when the CDR first becomes queryable
    rec_at: int | None  # epoch when recording_url appears (answered calls)
    note_at: int | None  # epoch when notes/custom_status/disposition are added
    shuffle: int  # stable arbitrary sort key for order="shuffled"
    rseed: int  # seed of the cosmetic draws

    @property
    def duration(self) -> int:
        """``call_duration``: total seconds from start to hangup."""
        return self.pre + self.ring_missed + self.ring + self.talk

    @property
    def end(self) -> int:
        """True UTC hangup instant, epoch seconds."""
        return self.start + self.duration

    @property
    def answered_seconds(self) -> int:
        """Talk time; 0 for missed calls (voicemail is not talk)."""
        return self.talk if self.answered else 0

    def versions_at(self, ts: float) -> tuple[bool, bool]:
        """Which later changes (recording, annotation) have happened by ``ts``."""
        return (
            self.rec_at is not None and self.rec_at <= ts,
            self.note_at is not None and self.note_at <= ts,
        )

    def version_at(self, ts: float) -> int:
        """1 for the first version, +1 per change already applied at ``ts``."""
        rec, note = self.versions_at(ts)
        return 1 + rec + note

    def __repr__(self) -> str:
        return f"Call({self.oid} {self.local} kind={self.kind} answered={self.answered})"


@dataclass(frozen=True)
class DayPlan:
    """Inputs shared by every day's generation.

    ``burst_calls`` extra calls per local day all start in one local second (a dialer
    campaign firing at once): more rows in one second than a page holds.
    """

    seed: int
    calls_per_day: int
    tz: ZoneInfo
    team: Team
    burst_calls: int = 0


def local_midnight(plan: DayPlan, ordinal: int) -> int:
    """UTC epoch of the start of local day ``ordinal`` (DST-aware)."""
    d = date.fromordinal(ordinal)
    return int(datetime(d.year, d.month, d.day, tzinfo=plan.tz).timestamp())


def local_string(ts: float, tz: ZoneInfo) -> str:
    """Local wall clock "Y-m-d H:i:s" of an epoch (the format the API uses)."""
    return datetime.fromtimestamp(int(ts), tz).strftime(LOCAL_FORMAT)


def day_call_count(plan: DayPlan, ordinal: int) -> int:
    """How many calls local day ``ordinal`` has (cheap: no call is generated)."""
    return _base_count(plan, ordinal) + plan.burst_calls


def _base_count(plan: DayPlan, ordinal: int) -> int:
    """The day's calls spread over its hours (the burst comes on top)."""
    if plan.calls_per_day <= 0:
        return 0
    rng = random.Random(f"acefone-sandbox:{plan.seed}:{ordinal}:count")
    factor = WEEKDAY_FACTOR[date.fromordinal(ordinal).weekday()]
    return max(0, round(plan.calls_per_day * factor * rng.uniform(0.93, 1.07)))


def _hour_segments(plan: DayPlan, ordinal: int) -> tuple[list[int], list[int], list[float]]:
    """UTC hour-long segments covering the local day, weighted by the local hour's volume.

    Working on the UTC timeline makes DST right by construction: a 25-hour autumn day has
    two segments whose local hour is 01 (both get calls), a 23-hour spring day has none for
    the skipped hour.
    """
    begin, finish = local_midnight(plan, ordinal), local_midnight(plan, ordinal + 1)
    starts, lengths, cum = [], [], []
    total = 0.0
    t = begin
    while t < finish:
        length = min(3600, finish - t)
        hour = datetime.fromtimestamp(t, plan.tz).hour
        total += HOURLY_CURVE[hour] * length / 3600
        starts.append(t)
        lengths.append(length)
        cum.append(total)
        t += length
    return starts, lengths, cum


def generate_day(plan: DayPlan, ordinal: int) -> list[Call]:
    """All calls of local day ``ordinal``, sorted by (local start, id)."""
    n = _base_count(plan, ordinal)
    if n == 0 and plan.burst_calls == 0:
        return []
    rng = random.Random(f"acefone-sandbox:{plan.seed}:{ordinal}:calls")
    rnd = rng.random
    seg_starts, seg_lengths, cum = _hour_segments(plan, ordinal)
    total = cum[-1]
    picks = []
    for _ in range(n):
        k = min(bisect.bisect_right(cum, rnd() * total), len(cum) - 1)
        picks.append((seg_starts[k] + int(rnd() * seg_lengths[k]), k))
    picks.sort()
    offsets = [
        fixed_offset(plan.tz, s, s + length - 1)
        for s, length in zip(seg_starts, seg_lengths, strict=True)
    ]
    machine = (plan.seed * 2_654_435_761) & 0xFFFF
    drawn = [(rng, start, k) for start, k in picks]
    if plan.burst_calls:
        # Its own stream, so a day's other calls are the same with or without a burst.
        burst_rng = random.Random(f"acefone-sandbox:{plan.seed}:{ordinal}:burst")
        k = min(bisect.bisect_right(cum, burst_rng.random() * total), len(cum) - 1)
        second = seg_starts[k] + int(burst_rng.random() * seg_lengths[k])
        drawn += [(burst_rng, second, k)] * plan.burst_calls
    calls = []
    for gen_index, (source, start, k) in enumerate(drawn):
        call = _draw_call(
            source, plan.team, ordinal=ordinal, start=start, index=gen_index, machine=machine
        )
        offset = offsets[k]
        call.local = (
            time.strftime(LOCAL_FORMAT, time.gmtime(start + offset))
            if offset is not None
            else local_string(start, plan.tz)
        )
        calls.append(call)
    calls.sort(key=lambda c: (c.local, c.oid))
    for i, call in enumerate(calls):
        call.index = i
    return calls


def utc_offset(tz: ZoneInfo, ts: float) -> int:
    """UTC offset of ``tz`` at epoch ``ts``, in seconds."""
    offset = datetime.fromtimestamp(ts, tz).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def fixed_offset(tz: ZoneInfo, first: float, last: float) -> int | None:
    """The offset if it is the same at both ends of a span (< 1 day), else None.

    Lets hot paths format local times with ``time.gmtime(ts + offset)`` instead of a
    zoneinfo lookup per timestamp, while spans that cross a DST change take the slow path.
    """
    offset = utc_offset(tz, first)
    return offset if utc_offset(tz, last) == offset else None


def _ri(rnd: Callable[[], float], low: int, high: int) -> int:
    """randint(low, high) from one uniform draw (about 3x cheaper than Random.randint)."""
    return low + int(rnd() * (high - low + 1))


def _pick(rnd: Callable[[], float], cumulative: tuple[float, ...]) -> int:
    """Index drawn from cumulative probabilities (last value 1.0)."""
    u = rnd()
    for i, edge in enumerate(cumulative):
        if u < edge:
            return i
    return len(cumulative) - 1


def _sample(rnd: Callable[[], float], population: tuple[int, ...], k: int) -> list[int]:
    """``k`` distinct items (partial Fisher-Yates; Random.sample's ABC checks cost more)."""
    pool = list(population)
    for j in range(k):
        r = j + int(rnd() * (len(pool) - j))
        pool[j], pool[r] = pool[r], pool[j]
    return pool[:k]


def _talk_seconds(rng: random.Random) -> int:
    """Log-normal talk time, median ~2.5 minutes, capped at 90 minutes."""
    return max(5, min(5400, int(rng.lognormvariate(math.log(150), 0.85))))


def _draw_call(
    rng: random.Random, team: Team, *, ordinal: int, start: int, index: int, machine: int
) -> Call:
    rnd = rng.random
    c = Call()
    c.ordinal, c.start = ordinal, start
    c.pre = c.ring_missed = c.ring = c.talk = 0
    c.agent, c.missed, c.dept, c.ivr, c.broadcast = -1, (), -1, -1, -1
    c.voicemail = False
    r = rnd()
    if r < 0.60:
        _draw_inbound(rng, team, c)
    elif r < 0.80:
        if rnd() < 0.10:
            _draw_broadcast(rnd, team, c)
        else:
            _draw_outbound(rng, team, c, OUTBOUND, answer_rate=0.70)
    elif r < 0.90:
        _draw_outbound(rng, team, c, CLICKTOCALL, answer_rate=0.80)
    else:
        _draw_outbound(rng, team, c, DIALER, answer_rate=0.60)
    c.client = int(rnd() * len(team.customers))
    end = c.end
    c.oid = f"{end + _ri(rnd, 0, 3):08x}{machine:04x}{ordinal & 0xFFFFFF:06x}{index & 0xFFFFFF:06x}"
    late = rnd() < LATE_RATE
    c.visible = end + (_ri(rnd, 600, 5400) if late else _ri(rnd, 5, 90))
    rec_delay = _ri(rnd, 60, 600)
    c.rec_at = c.visible + rec_delay if c.answered else None
    annotate = rnd() < ANNOTATE_RATE
    note_delay = _ri(rnd, 300, 3600)
    c.note_at = c.visible + note_delay if annotate else None
    c.shuffle = rng.getrandbits(62)
    c.rseed = rng.getrandbits(62)
    c.index = index
    return c


def _draw_inbound(rng: random.Random, team: Team, c: Call) -> None:
    rnd = rng.random
    routed = [d for d in team.dids if d.ivr is not None or d.department is not None]
    did = routed[min(int(rnd() ** 1.6 * len(routed)), len(routed) - 1)]
    c.kind, c.did = INBOUND, did.index
    services = []
    abandoned = False
    if did.ivr is not None:
        ivr = team.ivrs[did.ivr]
        c.ivr = ivr.index
        c.pre = _ri(rnd, 6, 40)
        services.append("IVR")
        if rnd() < 0.06:
            abandoned = True
        else:
            c.dept = ivr.options[int(rnd() * len(ivr.options))][1]
    else:
        c.dept = did.department if did.department is not None else 0
        c.pre = _ri(rnd, 1, 4)
    c.answered = (not abandoned) and rnd() < 0.82
    if not abandoned:
        services.append("Department")
        members = team.departments[c.dept].agents
        n_missed = (
            _pick(rnd, (0.70, 0.92, 1.0)) if c.answered else _pick(rnd, (0.15, 0.60, 0.85, 1.0))
        )
        picked = _sample(rnd, members, min(len(members), n_missed + c.answered))
        if c.answered:
            c.agent = picked.pop()
        c.missed = tuple(picked)
        c.ring_missed = sum(_ri(rnd, 15, 30) for _ in c.missed)
        if c.answered:
            c.ring = _ri(rnd, 3, 25)
            c.talk = _talk_seconds(rng)
        elif rnd() < 0.15:
            c.voicemail = True
            c.talk = _ri(rnd, 10, 60)
            services.append("Voicemail")
    c.service = ",".join(services)


def _draw_outbound(
    rng: random.Random, team: Team, c: Call, kind: int, *, answer_rate: float
) -> None:
    rnd = rng.random
    c.kind = kind
    c.agent = int(rnd() * len(team.agents))
    c.did = int(rnd() * len(team.dids))
    c.answered = rnd() < answer_rate
    c.pre = _ri(rnd, 2, 8) if kind == CLICKTOCALL else _ri(rnd, 0, 2)
    c.ring = _ri(rnd, 4, 30) if c.answered else _ri(rnd, 20, 45)
    c.talk = _talk_seconds(rng) if c.answered else 0
    c.service = "Dialer" if kind == DIALER else "Agent"


def _draw_broadcast(rnd: Callable[[], float], team: Team, c: Call) -> None:
    c.kind = BROADCAST
    c.did = int(rnd() * len(team.dids))
    c.broadcast = int(rnd() * len(team.broadcast_ids))
    c.answered = rnd() < 0.5
    c.ring = _ri(rnd, 5, 30) if c.answered else _ri(rnd, 20, 45)
    c.talk = _ri(rnd, 15, 60) if c.answered else 0
    c.service = "Broadcast"


def local_date_of(ts: float, tz: ZoneInfo) -> date:
    """The account-local date of an epoch."""
    return datetime.fromtimestamp(ts, tz).date()
