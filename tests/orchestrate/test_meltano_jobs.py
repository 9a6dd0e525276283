"""Reading Meltano's jobs and schedules, and reading how a `meltano run` ended.

No Dagster here: `orchestrate.meltano_project` and `orchestrate.meltano_runner` are the
parts an orchestrator other than Dagster could reuse.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from orchestrate.meltano_project import dagster_name, load_project
from orchestrate.meltano_runner import MeltanoOutcome, Verdict, classify, errors
from scripts.harness import REPO_ROOT


def test_every_account_job_of_the_shipped_project_is_read_with_its_extractor():
    project = load_project(REPO_ROOT)
    assert project.default_environment == "dev"
    jobs = {job.name: job for job in project.jobs}
    assert set(jobs) >= {"acefone-acme", "acefone-globex", "acefone-umbrella-uk"}
    acme = jobs["acefone-acme"]
    assert acme.tasks == ("tap-acefone--acme target-postgres",)
    assert acme.extractors == ("tap-acefone--acme",)
    assert acme.account == "acme"
    assert acme.concurrency_key == "tap-acefone--acme"
    assert acme.dagster_name == "acefone_acme"
    assert jobs["acefone-umbrella-uk"].dagster_name == "acefone_umbrella_uk"
    schedules = {s.job: s for s in project.schedules}
    assert set(schedules) == set(jobs)
    assert schedules["acefone-acme"].cron == "5 * * * *"


def write_project(tmp_path: Path, body: str) -> Path:
    (tmp_path / "meltano.yml").write_text(body)
    return tmp_path


PLUGINS = """
plugins:
  extractors:
  - name: tap-acefone
  - name: tap-acefone--a
    inherit_from: tap-acefone
    config: {account_id: a}
  - name: tap-acefone--b
    inherit_from: tap-acefone
    config: {account_id: $FROM_ENV}
  loaders:
  - name: target-postgres
"""


def test_task_forms_utilities_and_jobs_without_an_account(tmp_path):
    project = load_project(
        write_project(
            tmp_path,
            PLUGINS
            + """
jobs:
- name: nested
  tasks:
  - [tap-acefone--a target-postgres, "dbt-postgres:run"]
- name: env-label
  tasks: tap-acefone--b target-postgres
- name: transform-only
  tasks: ["dbt-postgres:run"]
schedules:
- {name: once, job: nested, interval: "@once"}
- {name: legacy, extractor: tap-acefone, loader: target-postgres, interval: "@daily"}
- {name: daily, job: transform-only, interval: "@daily"}
""",
        )
    )
    jobs = {job.name: job for job in project.jobs}
    assert jobs["nested"].tasks == ("tap-acefone--a target-postgres", "dbt-postgres:run")
    assert jobs["nested"].extractors == ("tap-acefone--a",)
    assert jobs["nested"].account == "a"
    assert jobs["env-label"].account is None, "a label from a variable is not known here"
    assert jobs["env-label"].concurrency_key == "tap-acefone--b"
    assert jobs["transform-only"].extractors == ()
    assert jobs["transform-only"].concurrency_key == "transform-only"
    assert [(s.name, s.cron) for s in project.schedules] == [("daily", "@daily")]


@pytest.mark.parametrize(
    ("jobs", "message"),
    [
        ("jobs:\n- {name: x, tasks: []}\n", "Meltano job x has no tasks"),
        (
            "jobs:\n- {name: x, tasks: [a]}\n- {name: x, tasks: [b]}\n",
            "declares these jobs more than once: ['x']",
        ),
        (
            "jobs:\n- {name: x, tasks: [a]}\nschedules:\n- {name: s, job: y, interval: '@daily'}\n",
            "Meltano schedule s runs job y, which meltano.yml lacks",
        ),
    ],
    ids=["no-tasks", "duplicate", "unknown-job"],
)
def test_a_job_or_schedule_that_cannot_run_is_refused(tmp_path, jobs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        load_project(write_project(tmp_path, PLUGINS + jobs))


def test_dagster_names_keep_only_letters_digits_and_underscores():
    assert dagster_name("acefone-umbrella-uk.v2") == "acefone_umbrella_uk_v2"


# What `meltano run` prints when each side fails (its console log format).
TAP_REFUSED = [
    "2026-03-10T12:00:00.1Z [info     ] meltano      Running job with name 'x'",
    "2026-03-10T12:00:01.1Z [error    ] tap-acefone--acme An unhandled error occurred",
    "2026-03-10T12:00:01.2Z [error    ] tap-acefone--acme The API refused api_token (HTTP 401)",
    "2026-03-10T12:00:02.1Z [error    ] meltano      Extractor failed",
    "2026-03-10T12:00:02.2Z [error    ] meltano      Block run completed",
]
LOADER_DOWN = [
    "2026-03-10T12:00:01.1Z [error    ] target-postgres connection refused",
    "2026-03-10T12:00:02.1Z [error    ] meltano      Extractor and loader failed",
]
LOCKED = [
    "2026-03-10T12:00:02.1Z [error    ] meltano      Another 'dev:x' pipeline is already "
    "running which started at 2026-03-10 11:59:00.",
]


@pytest.mark.parametrize(
    ("code", "lines", "verdict", "retriable"),
    [
        (0, TAP_REFUSED[:1], Verdict.SUCCEEDED, False),
        (1, TAP_REFUSED, Verdict.EXTRACTOR_FAILED, False),
        (1, LOADER_DOWN, Verdict.FAILED, True),
        (1, LOCKED, Verdict.ALREADY_RUNNING, True),
        (1, ["Traceback (most recent call last):", "KeyError: 'x'"], Verdict.FAILED, True),
    ],
    ids=["ok", "tap", "loader", "locked", "crash"],
)
def test_a_run_is_retried_unless_the_tap_itself_failed(code, lines, verdict, retriable):
    assert classify(code, lines) is verdict
    assert verdict.retriable is retriable


def test_the_reason_is_the_plugins_own_error_line_in_console_or_json_format():
    outcome = MeltanoOutcome(("run", "x"), 1, tuple(TAP_REFUSED), 1.0)
    assert outcome.reason() == "tap-acefone--acme: The API refused api_token (HTTP 401)"
    as_json = [
        json.dumps({"level": "info", "event": "Running", "plugin_logger": None}),
        json.dumps({"level": "error", "event": "Config validation failed", "plugin_logger": "tap"}),
        json.dumps({"level": "error", "event": "Extractor failed"}),
    ]
    found = errors(as_json)
    assert [str(e) for e in found] == ["tap: Config validation failed", "meltano: Extractor failed"]
    assert MeltanoOutcome((), 1, tuple(LOCKED), 1.0).reason().startswith("meltano: Another")
    bare = MeltanoOutcome((), 2, ("one", "two", "three", "four"), 1.0)
    assert bare.reason() == "two / three / four"
