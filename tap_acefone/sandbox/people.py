"""The fake account's team: agents, departments, IVRs, DID numbers and customers.

Everything is derived from the seed (and the call volume, which decides the team size),
so the reference endpoints and the CDRs agree: every agent, department, IVR and DID that
appears in a call record is also listed by /v1/users, /v1/departments, /v1/ivrs and
/v1/my_number.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

# fmt: off
FIRST_NAMES = (
    "Aarav", "Vivaan", "Aditya", "Vihaan", "Arjun", "Sai", "Reyansh", "Krishna", "Ishaan",
    "Rohan", "Ananya", "Diya", "Priya", "Kavya", "Meera", "Isha", "Neha", "Pooja", "Sneha",
    "Riya", "Rahul", "Amit", "Sanjay", "Deepak", "Kiran", "Lakshmi", "Farah", "Imran",
    "Zoya", "Harpreet", "Gurpreet", "Nikhil", "Tanvi", "Varun", "Shreya", "Manish",
)
LAST_NAMES = (
    "Sharma", "Verma", "Gupta", "Iyer", "Nair", "Reddy", "Patel", "Shah", "Mehta", "Khan",
    "Singh", "Das", "Bose", "Menon", "Pillai", "Rao", "Joshi", "Kulkarni", "Chatterjee",
    "Mukherjee", "Agarwal", "Malhotra", "Kapoor", "Sethi", "Fernandes", "D'Souza",
)
CIRCLES = (
    "Delhi", "Mumbai", "Karnataka", "Tamil Nadu", "Maharashtra", "Gujarat", "Kerala",
    "West Bengal", "Uttar Pradesh (East)", "Punjab", "Rajasthan", "Andhra Pradesh",
)
# fmt: on
DEPARTMENT_NAMES = ("Sales", "Support", "Billing", "Collections", "Onboarding", "Escalations")
IVR_NAMES = ("Main Menu", "After Hours", "Hindi Menu")
RING_STRATEGIES = ("round_robin", "simultaneous", "order_by", "least_occupied")
ROLES = ((3, "Agent"), (3, "Agent"), (3, "Agent"), (2, "Supervisor"))
OPERATORS = ("Jio", "Airtel", "Vodafone Idea", "BSNL")


@dataclass(frozen=True)
class Agent:
    """One agent seat; ``extension`` is set for softphone seats (``Extension-…`` numbers)."""

    index: int
    user_id: int
    agent_id: str
    name: str
    email: str
    phone: str
    extension: str | None
    status: int
    departments: tuple[int, ...]
    role: tuple[int, str]
    intercom: int

    @property
    def number(self) -> str:
        """What CDRs show in ``agent_number``: a phone, or ``Extension-<login>``."""
        return f"Extension-{self.extension}" if self.extension else self.phone


@dataclass(frozen=True)
class Department:
    """A department (queue) with its member agents (indices into ``Team.agents``)."""

    index: int
    dept_id: str
    name: str
    ring_strategy: str
    agents: tuple[int, ...]
    use_as_queue: bool
    queue_timeout: int


@dataclass(frozen=True)
class Ivr:
    """An IVR whose menu options lead to departments (indices into ``Team.departments``)."""

    index: int
    ivr_id: int
    name: str
    timeout: int
    options: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Did:
    """A DID ("my number"): inbound calls route to ``ivr`` or ``department`` (indices)."""

    index: int
    number_id: int
    did: str
    alias: str
    ivr: int | None
    department: int | None


@dataclass(frozen=True)
class Team:
    """The whole account, plus a deterministic pool of customer numbers."""

    account_name: str
    agents: tuple[Agent, ...]
    departments: tuple[Department, ...]
    ivrs: tuple[Ivr, ...]
    dids: tuple[Did, ...]
    customers: tuple[str, ...]
    broadcast_ids: tuple[str, ...]
    campaigns: tuple[tuple[int, str], ...]

    def agent_by_id(self) -> dict[str, int]:
        """Agent id -> index (for the ``agents`` filter)."""
        return {a.agent_id: a.index for a in self.agents}


def team_size(calls_per_day: int) -> int:
    """Agents needed for the volume: about sqrt(calls/day), between 10 and 40."""
    return max(10, min(40, round(math.sqrt(calls_per_day))))


def build_team(seed: int, calls_per_day: int) -> Team:
    """Generate the account deterministically from ``seed`` and the call volume."""
    rng = random.Random(f"acefone-sandbox:{seed}:team")
    n_agents = team_size(calls_per_day)
    n_depts = rng.randint(3, 5)
    n_ivrs = rng.randint(2, 3)
    n_dids = rng.randint(max(3, n_ivrs + 1), 6)

    agents = _build_agents(rng, n_agents, n_depts)
    departments = tuple(
        Department(
            index=d,
            dept_id=str(20500 + d * 17 + rng.randint(0, 9)),
            name=DEPARTMENT_NAMES[d],
            ring_strategy=rng.choice(RING_STRATEGIES),
            agents=tuple(a.index for a in agents if d in a.departments),
            use_as_queue=rng.random() < 0.6,
            queue_timeout=rng.choice((60, 90, 120)),
        )
        for d in range(n_depts)
    )
    ivrs = tuple(
        Ivr(
            index=i,
            ivr_id=4100 + i * 13 + rng.randint(0, 9),
            name=IVR_NAMES[i],
            timeout=rng.choice((5, 8, 10)),
            options=tuple(
                (str(opt + 1), d)
                for opt, d in enumerate(rng.sample(range(n_depts), k=min(3, n_depts)))
            ),
        )
        for i in range(n_ivrs)
    )
    dids = _build_dids(rng, n_dids, n_ivrs, n_depts)
    pool = max(300, calls_per_day * 2)
    customers = tuple(_customer_number(seed, i) for i in range(pool))
    return Team(
        account_name=f"Sandbox Account {seed}",
        agents=agents,
        departments=departments,
        ivrs=ivrs,
        dids=dids,
        customers=customers,
        broadcast_ids=tuple(str(3400 + rng.randint(0, 99) + 100 * k) for k in range(3)),
        campaigns=tuple(
            (700 + k, f"Campaign {name}") for k, name in enumerate(("Renewals", "Leads Q1"))
        ),
    )


def _build_agents(rng: random.Random, n_agents: int, n_depts: int) -> tuple[Agent, ...]:
    used_names: set[str] = set()
    agents = []
    for i in range(n_agents):
        while True:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            if f"{first} {last}" not in used_names:
                break
        used_names.add(f"{first} {last}")
        primary = i % n_depts
        depts = (
            (primary,) if rng.random() < 0.7 else tuple(sorted({primary, rng.randrange(n_depts)}))
        )
        softphone = rng.random() < 0.25
        agents.append(
            Agent(
                index=i,
                user_id=288200 + i * 7 + rng.randint(0, 6),
                agent_id=f"0502{rng.randint(10_000_000, 99_999_999)}",
                name=f"{first} {last}",
                email=f"{first}.{last}".lower().replace("'", "") + "@sandbox-account.example",
                phone=f"+91{rng.choice('6789')}{rng.randint(100_000_000, 999_999_999)}",
                extension=f"0602{rng.randint(100_000_000, 999_999_999)}" if softphone else None,
                status=rng.choices((0, 1, 2, 3, 4), weights=(70, 3, 5, 10, 12))[0],
                departments=depts,
                role=ROLES[0] if i else ROLES[3],
                intercom=1001 + i,
            )
        )
    return tuple(agents)


def _build_dids(rng: random.Random, n_dids: int, n_ivrs: int, n_depts: int) -> tuple[Did, ...]:
    dids = []
    for k in range(n_dids):
        ivr = k if k < n_ivrs else None
        if ivr is not None:
            dept = None
        elif k < n_dids - 1:
            dept = (k - n_ivrs) % n_depts
        else:
            dept = None  # an outbound-only caller-ID number with no destination
        dids.append(
            Did(
                index=k,
                number_id=9100 + k * 3 + rng.randint(0, 2),
                did=f"+9180{rng.randint(60_000_000, 69_999_999)}",
                alias=(
                    "Toll line",
                    "Main line",
                    "Support line",
                    "Sales line",
                    "Campaign line",
                    "Outbound",
                )[k],
                ivr=ivr,
                department=dept,
            )
        )
    return tuple(dids)


def _customer_number(seed: int, i: int) -> str:
    """Indian mobile number for customer ``i``: a cheap bijective-ish hash, no RNG state."""
    body = (i * 2_654_435_761 + seed * 40_503 + 12_345) % 900_000_000 + 100_000_000
    return f"+91{'6789'[(i + seed) % 4]}{body}"


def normalize_number(number: str) -> str:
    """Digits of an Indian number without ``+`` / ``91`` / ``0`` prefixes (for ``callerid``)."""
    digits = "".join(ch for ch in number if ch.isdigit())
    if len(digits) > 10 and digits.startswith("91"):
        digits = digits[2:]
    return digits.lstrip("0") if len(digits) > 10 else digits
