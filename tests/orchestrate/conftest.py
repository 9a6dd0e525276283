"""Fixtures for the orchestrate/ tests: the `orchestrate` extra, Meltano's plugins, and a
running Dagster (webserver + daemon) over the project's accounts."""

from __future__ import annotations

import importlib
import importlib.metadata
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path

import pytest

from scripts.harness import REPO_ROOT, venv_bin
from scripts.postgres import PostgresServer
from tests.orchestrate.orchestra import Account, Orchestra


def _pinned_dagster() -> str:
    """The Dagster version the `orchestrate` extra pins in pyproject.toml."""
    text = (REPO_ROOT / "pyproject.toml").read_text()
    match = re.search(r'"dagster==([^"]+)"', text)
    assert match, "pyproject.toml's orchestrate extra must pin dagster"
    return match.group(1)


def _installed_dagster() -> str | None:
    try:
        return importlib.metadata.version("dagster")
    except importlib.metadata.PackageNotFoundError:
        return None


@pytest.fixture(scope="session")
def orchestrate_extra() -> Path:
    """`pip install -e '.[orchestrate]'` into this venv unless the pinned Dagster is there.

    Returns the directory of the venv's executables (dagster, dagster-daemon, meltano).
    """
    if _installed_dagster() != _pinned_dagster():
        result = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "-e", ".[orchestrate]"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 0, f"installing the orchestrate extra failed:\n{result.stderr}"
        importlib.invalidate_caches()
    assert _installed_dagster() == _pinned_dagster()
    return Path(venv_bin("dagster")).parent


@pytest.fixture(scope="session")
def meltano_plugins() -> None:
    """tap-acefone and target-postgres installed in .meltano/ (what `make test` does first)."""
    installed = [
        REPO_ROOT / ".meltano/extractors/tap-acefone/venv/bin/tap-acefone",
        REPO_ROOT / ".meltano/loaders/target-postgres/venv/bin/target-postgres",
    ]
    if all(path.exists() for path in installed):
        return
    result = subprocess.run(
        [venv_bin("meltano"), "install"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, f"meltano install failed:\n{result.stdout}\n{result.stderr}"


@pytest.fixture
def make_orchestra(
    orchestrate_extra: Path,
    meltano_plugins: None,
    postgres_server: PostgresServer,
    postgres_schema: str,
    tmp_path: Path,
) -> Iterator[Callable[[Sequence[Account]], Orchestra]]:
    """Start sandboxes for the accounts, then Dagster's webserver and daemon; stop all after."""
    with ExitStack() as stack:

        def start(accounts: Sequence[Account]) -> Orchestra:
            world = Orchestra(tmp_path, postgres_server, postgres_schema, accounts)
            stack.callback(world.close)
            stack.enter_context(world.webserver())
            stack.enter_context(world.daemon())
            return world

        yield start
