"""Every Meltano job in `meltano.yml` as a Dagster job, every job schedule as a schedule.

Each Dagster job runs `meltano run <job>` in one op, in the run's own process, and is tagged
with its extractor (`meltano/extractor`); the instance's run queue (orchestrate/dagster.yaml)
admits one run per value of that tag, so one account never runs twice at once while any
number of accounts run side by side. The op is retried unless the tap itself failed (see
`meltano_runner`).

Not `dagster-meltano`: its last release (1.5.5) cannot be imported with Dagster 1.13 (it needs
`dagster-shell`, whose releases for current Dagster stopped at 1.9), and it runs every job
with `meltano run --force`, which switches off Meltano's own guard against two runs of one
pipeline.

Settings (environment of the Dagster code location and its runs):

- `MELTANO_PROJECT_ROOT`: the Meltano project (default: this repository);
- `ACEFONE_MELTANO_BIN`: the `meltano` executable (default: the one beside this Python);
- `ACEFONE_ORCHESTRATE_RETRIES` (2) and `ACEFONE_ORCHESTRATE_RETRY_DELAY` (60 s, doubling);
- `ACEFONE_ORCHESTRATE_MAX_RUNTIME` (21600 s): a run still going after this is stopped by
  run monitoring, so a hung run cannot hold its account's slot for ever;
- `ACEFONE_ORCHESTRATE_SCHEDULES` (`stopped`): `running` starts every schedule on deploy.
- Everything else (credentials, `MELTANO_ENVIRONMENT`, `MELTANO_DATABASE_URI`, ...) passes
  through to Meltano unchanged. A run's config may add non-secret variables for that run
  (`ops: {meltano_run_<job>: {config: {env: {...}}}}`), e.g. the dates of a backfill.
"""

# No `from __future__ import annotations`: Dagster reads the op's `context` annotation.
import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dagster import (
    Backoff,
    DefaultScheduleStatus,
    Definitions,
    Failure,
    Field,
    Jitter,
    JobDefinition,
    Map,
    MetadataValue,
    OpExecutionContext,
    RetryPolicy,
    ScheduleDefinition,
    in_process_executor,
    job,
    op,
)

from orchestrate.meltano_project import MeltanoJob, MeltanoProject, load_project
from orchestrate.meltano_runner import Verdict, run_meltano

CONCURRENCY_TAG = "meltano/extractor"
ACCOUNT_TAG = "acefone/account"
MAX_RUNTIME_TAG = "dagster/max_runtime"
REPO_ROOT = Path(__file__).resolve().parents[1]
RUN_ENV_DESCRIPTION = (
    "Variables added to Meltano's environment for this run only, e.g. "
    "TAP_ACEFONE__ACME_START_DATE and _END_DATE for a backfill. Stored with the run and shown "
    "in the UI: never put a token or password here."
)


@dataclass(frozen=True)
class Settings:
    """How the Dagster jobs run Meltano, from the environment."""

    project_dir: Path
    meltano: str
    retries: int
    retry_delay: int
    max_runtime: int
    schedules_running: bool

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "Settings":
        """Read and check the settings; a bad value names its variable."""
        project_dir = Path(env.get("MELTANO_PROJECT_ROOT") or REPO_ROOT).resolve()
        if not (project_dir / "meltano.yml").is_file():
            raise ValueError(f"MELTANO_PROJECT_ROOT {project_dir} holds no meltano.yml")
        schedules = env.get("ACEFONE_ORCHESTRATE_SCHEDULES", "stopped").strip().lower()
        if schedules not in ("running", "stopped"):
            raise ValueError("ACEFONE_ORCHESTRATE_SCHEDULES must be running or stopped")
        return cls(
            project_dir=project_dir,
            meltano=_meltano_executable(env.get("ACEFONE_MELTANO_BIN")),
            retries=_count(env, "ACEFONE_ORCHESTRATE_RETRIES", 2, 0, 10),
            retry_delay=_count(env, "ACEFONE_ORCHESTRATE_RETRY_DELAY", 60, 0, 3600),
            max_runtime=_count(env, "ACEFONE_ORCHESTRATE_MAX_RUNTIME", 21600, 60, 7 * 86400),
            schedules_running=schedules == "running",
        )


def _count(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw[:20]!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high} (got {value})")
    return value


def _meltano_executable(configured: str | None) -> str:
    if configured:
        return configured
    beside = Path(sys.executable).parent / "meltano"
    if beside.exists():
        return str(beside)
    return shutil.which("meltano") or "meltano"


def state_id(project: MeltanoProject, meltano_job: MeltanoJob) -> str | None:
    """Meltano's state id for a one-task `extractor loader` job, for the run's metadata."""
    environment = os.environ.get("MELTANO_ENVIRONMENT") or project.default_environment
    blocks = meltano_job.tasks[0].split() if len(meltano_job.tasks) == 1 else []
    if environment is None or len(blocks) < 2 or len(meltano_job.extractors) != 1:
        return None
    return f"{environment}:{blocks[0]}-to-{blocks[-1]}"


def meltano_job_definition(
    project: MeltanoProject, meltano_job: MeltanoJob, settings: Settings
) -> JobDefinition:
    """A Dagster job of one op that runs `meltano run <meltano_job>`."""
    args = ("run", meltano_job.name)
    tags = {
        CONCURRENCY_TAG: meltano_job.concurrency_key,
        MAX_RUNTIME_TAG: str(settings.max_runtime),
    }
    if meltano_job.account:
        tags[ACCOUNT_TAG] = meltano_job.account
    retry = RetryPolicy(
        max_retries=settings.retries,
        delay=settings.retry_delay,
        backoff=Backoff.EXPONENTIAL,
        jitter=Jitter.PLUS_MINUS,
    )
    state = state_id(project, meltano_job)

    @op(
        name=f"meltano_run_{meltano_job.dagster_name}",
        description=f"meltano run {meltano_job.name}",
        retry_policy=retry,
        tags={"kind": "meltano"},
        config_schema={
            "env": Field(
                Map(str, str),
                default_value={},
                is_required=False,
                description=RUN_ENV_DESCRIPTION,
            )
        },
    )
    def meltano_run(context: OpExecutionContext) -> None:
        overrides = dict(context.op_config["env"])
        context.log.info(
            f"meltano {' '.join(args)} (state id {state})"
            + (f", with {', '.join(sorted(overrides))} from the run config" if overrides else "")
        )
        outcome = run_meltano(
            settings.meltano,
            args,
            project_dir=str(settings.project_dir),
            env={**os.environ, **overrides},
            echo=_to_stdout,
        )
        metadata = {
            "meltano_job": meltano_job.name,
            "state_id": MetadataValue.text(state or "n/a"),
            "exit_code": outcome.returncode,
            "seconds": round(outcome.seconds, 1),
            "log_tail": MetadataValue.md("```\n" + "\n".join(outcome.tail[-15:]) + "\n```"),
        }
        verdict = outcome.verdict
        if verdict is Verdict.SUCCEEDED:
            context.add_output_metadata(metadata)
            context.log.info(f"meltano run {meltano_job.name} succeeded")
            return
        description = (
            f"meltano run {meltano_job.name} failed ({verdict.value}, exit code "
            f"{outcome.returncode}): {outcome.reason()}"
        )
        if not verdict.retriable:
            description += " -- not retried: fix the cause, then run the job again."
        raise Failure(description=description, metadata=metadata, allow_retries=verdict.retriable)

    @job(
        name=meltano_job.dagster_name,
        description=f"Meltano job {meltano_job.name}: " + "; ".join(meltano_job.tasks),
        tags=tags,
        executor_def=in_process_executor,
    )
    def the_job() -> None:
        meltano_run()

    return the_job


def _to_stdout(line: str) -> None:
    """Meltano's output into the step's captured stdout (the run's compute logs)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def build_definitions(env: Mapping[str, str]) -> Definitions:
    """Jobs and schedules for the Meltano project the environment points at."""
    settings = Settings.from_env(env)
    project = load_project(settings.project_dir)
    jobs = {
        meltano_job.name: meltano_job_definition(project, meltano_job, settings)
        for meltano_job in project.jobs
    }
    status = (
        DefaultScheduleStatus.RUNNING
        if settings.schedules_running
        else DefaultScheduleStatus.STOPPED
    )
    schedules = [
        ScheduleDefinition(
            name=schedule.dagster_name,
            job=jobs[schedule.job],
            cron_schedule=schedule.cron,
            execution_timezone="UTC",
            default_status=status,
        )
        for schedule in project.schedules
    ]
    return Definitions(jobs=list(jobs.values()), schedules=schedules)


defs = build_definitions(os.environ)
