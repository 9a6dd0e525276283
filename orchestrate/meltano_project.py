"""The Meltano jobs and schedules an orchestrator runs, read from `meltano.yml`.

Meltano stays the one place where pipelines are declared: every job in `meltano.yml` becomes
one orchestrator job, every job schedule one orchestrator schedule. What the orchestrator
adds is which runs must never overlap: two runs of one extractor plugin share its state id
(`<environment>:<extractor>-to-<loader>`) and its run directory (`.meltano/run/<plugin>/`,
which holds the catalog and the state file the tap starts from), so each job carries its
extractor as a concurrency key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PARENT_TAP = "tap-acefone"
# Meltano's schedule intervals that are not a time of day to run at.
NOT_SCHEDULED = frozenset({"@once", "@manual", "@none", ""})
_NOT_A_NAME_CHAR = re.compile(r"[^A-Za-z0-9_]")


def dagster_name(name: str) -> str:
    """A Meltano name as a Dagster name (letters, digits and '_' only)."""
    return _NOT_A_NAME_CHAR.sub("_", name)


@dataclass(frozen=True)
class MeltanoJob:
    """One Meltano job: its tasks, and the plugins in them that must not run twice at once."""

    name: str
    tasks: tuple[str, ...]
    extractors: tuple[str, ...]
    account: str | None

    @property
    def dagster_name(self) -> str:
        """The orchestrator's name for the job."""
        return dagster_name(self.name)

    @property
    def concurrency_key(self) -> str:
        """What at most one run may hold at a time: the job's extractor(s), else the job."""
        return "+".join(self.extractors) if self.extractors else self.name


@dataclass(frozen=True)
class MeltanoSchedule:
    """A Meltano schedule of a job, as a cron expression."""

    name: str
    job: str
    cron: str

    @property
    def dagster_name(self) -> str:
        """The orchestrator's name for the schedule."""
        return dagster_name(self.name)


@dataclass(frozen=True)
class MeltanoProject:
    """What an orchestrator needs from a Meltano project."""

    root: Path
    default_environment: str | None
    jobs: tuple[MeltanoJob, ...]
    schedules: tuple[MeltanoSchedule, ...]

    def job(self, name: str) -> MeltanoJob:
        """The job called `name`."""
        return next(job for job in self.jobs if job.name == name)


def load_project(root: Path) -> MeltanoProject:
    """Read `meltano.yml` in `root`; a job or schedule that cannot be run is an error."""
    data = yaml.safe_load((root / "meltano.yml").read_text()) or {}
    extractors = {
        plugin["name"]: plugin for plugin in data.get("plugins", {}).get("extractors", []) or []
    }
    jobs = tuple(_job(entry, extractors) for entry in data.get("jobs", []) or [])
    names = [job.name for job in jobs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"meltano.yml declares these jobs more than once: {duplicates}")
    schedules = tuple(
        schedule
        for entry in data.get("schedules", []) or []
        if (schedule := _schedule(entry, set(names))) is not None
    )
    return MeltanoProject(
        root=root,
        default_environment=data.get("default_environment"),
        jobs=jobs,
        schedules=schedules,
    )


def account_of(plugin: Mapping[str, Any]) -> str | None:
    """The account label an extractor sets (its literal `account_id`), if any."""
    value = (plugin.get("config") or {}).get("account_id")
    if isinstance(value, str) and value and not value.startswith("$"):
        return value
    return None


def inherits_from(plugin: Mapping[str, Any], parent: str = PARENT_TAP) -> bool:
    """Whether an extractor is the parent tap or one of its per-account plugins."""
    return plugin.get("name") == parent or plugin.get("inherit_from") == parent


def _job(entry: Mapping[str, Any], extractors: Mapping[str, Mapping[str, Any]]) -> MeltanoJob:
    name = str(entry["name"])
    tasks = tuple(_flatten(entry.get("tasks")))
    if not tasks:
        raise ValueError(f"Meltano job {name} has no tasks")
    blocks = [block.split(":", 1)[0] for task in tasks for block in task.split()]
    used = tuple(dict.fromkeys(block for block in blocks if block in extractors))
    accounts = {account_of(extractors[plugin]) for plugin in used}
    account = accounts.pop() if len(accounts) == 1 else None
    return MeltanoJob(name=name, tasks=tasks, extractors=used, account=account)


def _schedule(entry: Mapping[str, Any], jobs: set[str]) -> MeltanoSchedule | None:
    job = entry.get("job")
    if job is None:
        return None  # a legacy `meltano elt` schedule (extractor/loader): not a job to run
    name = str(entry["name"])
    if job not in jobs:
        raise ValueError(f"Meltano schedule {name} runs job {job}, which meltano.yml lacks")
    cron = str(entry.get("interval") or "").strip()
    if cron in NOT_SCHEDULED:
        return None
    return MeltanoSchedule(name=name, job=str(job), cron=cron)


def _flatten(tasks: Any) -> list[str]:
    """Meltano accepts a task string, a list of them, or lists of lists."""
    if tasks is None:
        return []
    if isinstance(tasks, str):
        return [tasks]
    return [item for task in tasks for item in _flatten(task)]
