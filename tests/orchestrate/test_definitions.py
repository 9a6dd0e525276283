"""The Dagster definitions built from meltano.yml, and the instance settings shipped beside them.

In-process: what Dagster loads from orchestrate/ (jobs, their tags and retry policy,
schedules), and that the shipped dagster.yaml limits runs on the very tag the jobs carry.
The behaviour of all of it under a running daemon is in test_many_accounts.py and
test_one_run_per_account.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from orchestrate.meltano_project import load_project
from scripts.harness import REPO_ROOT, venv_bin


@pytest.fixture
def definitions(orchestrate_extra: Path):
    from orchestrate import definitions  # noqa: PLC0415  (needs the orchestrate extra)

    return definitions


def test_every_meltano_job_is_a_dagster_job_keyed_on_its_extractor(definitions):
    defs = definitions.build_definitions({})
    project = load_project(REPO_ROOT)
    for meltano_job in project.jobs:
        job = defs.resolve_job_def(meltano_job.dagster_name)
        assert job.tags[definitions.CONCURRENCY_TAG] == meltano_job.concurrency_key
        assert job.tags[definitions.ACCOUNT_TAG] == meltano_job.account
        assert job.tags["dagster/max_runtime"] == "21600"
        assert job.executor_def.name == "in_process"
        (node,) = job.nodes
        op = node.definition
        assert op.retry_policy.max_retries == 2
        assert op.retry_policy.delay == 60
        assert set(op.config_schema.config_type.fields) == {"env"}
    assert {j.name for j in defs.resolve_all_job_defs()} >= {j.dagster_name for j in project.jobs}


def test_every_job_schedule_is_a_dagster_schedule_stopped_until_asked(definitions):
    project = load_project(REPO_ROOT)
    for env, status in (({}, "STOPPED"), ({"ACEFONE_ORCHESTRATE_SCHEDULES": "running"}, "RUNNING")):
        defs = definitions.build_definitions(env)
        for schedule in project.schedules:
            built = defs.resolve_schedule_def(schedule.dagster_name)
            assert built.cron_schedule == schedule.cron
            assert built.job_name == project.job(schedule.job).dagster_name
            assert built.execution_timezone == "UTC"
            assert built.default_status.value == status


def test_settings_come_from_the_environment_and_a_bad_one_is_named(definitions, tmp_path):
    settings = definitions.Settings.from_env(
        {
            "ACEFONE_ORCHESTRATE_RETRIES": "0",
            "ACEFONE_ORCHESTRATE_RETRY_DELAY": "5",
            "ACEFONE_MELTANO_BIN": "/opt/meltano/bin/meltano",
        }
    )
    assert (settings.retries, settings.retry_delay) == (0, 5)
    assert settings.meltano == "/opt/meltano/bin/meltano"
    assert settings.project_dir == REPO_ROOT
    bad = {
        "ACEFONE_ORCHESTRATE_RETRIES": ("many", "ACEFONE_ORCHESTRATE_RETRIES must be a whole"),
        "ACEFONE_ORCHESTRATE_RETRY_DELAY": ("-1", "ACEFONE_ORCHESTRATE_RETRY_DELAY must be"),
        "ACEFONE_ORCHESTRATE_MAX_RUNTIME": ("10", "ACEFONE_ORCHESTRATE_MAX_RUNTIME must be"),
        "ACEFONE_ORCHESTRATE_SCHEDULES": ("on", "ACEFONE_ORCHESTRATE_SCHEDULES must be"),
        "MELTANO_PROJECT_ROOT": (str(tmp_path), "holds no meltano.yml"),
    }
    for name, (value, message) in bad.items():
        with pytest.raises(ValueError, match=message):
            definitions.Settings.from_env({name: value})


def test_the_shipped_instance_admits_one_run_per_extractor(definitions, tmp_path):
    from dagster import DagsterInstance  # noqa: PLC0415

    shutil.copy(REPO_ROOT / "orchestrate" / "dagster.yaml", tmp_path / "dagster.yaml")
    instance = DagsterInstance.from_config(str(tmp_path))
    try:
        queue = instance.get_concurrency_config().run_queue_config
        limits = queue.tag_concurrency_limits
        assert {
            "key": definitions.CONCURRENCY_TAG,
            "value": {"applyLimitPerUniqueValue": True},
            "limit": 1,
        } in limits
        assert queue.max_concurrent_runs >= 3
        assert instance.run_monitoring_enabled
    finally:
        instance.dispose()


def test_dagster_loads_the_workspace(orchestrate_extra, tmp_path):
    shutil.copy(REPO_ROOT / "orchestrate" / "dagster.yaml", tmp_path / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "ACEFONE_"))}
    env["DAGSTER_HOME"] = str(tmp_path)
    result = subprocess.run(
        [venv_bin("dagster"), "definitions", "validate", "-w", "orchestrate/workspace.yaml"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "All code locations passed validation" in result.stdout + result.stderr
