"""The many-accounts pattern in meltano.yml: one inherited extractor, job and schedule each.

Checked twice: on the file (what the pattern promises), and through Meltano itself (what it
makes of the file and of the environment): every setting the pattern uses comes from the
account's own variables, and the parent plugin's credentials never reach an account.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts.harness import venv_bin

ROOT = Path(__file__).resolve().parents[1]
PARENT = "tap-acefone"
CREDENTIALS = ("api_token", "email", "password")
SENSITIVE = {"api_token", "password", "sqlalchemy_url"}


@pytest.fixture(scope="module")
def project() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "meltano.yml").read_text())


@pytest.fixture(scope="module")
def accounts(project: dict[str, Any]) -> list[dict[str, Any]]:
    found = [p for p in project["plugins"]["extractors"] if p.get("inherit_from") == PARENT]
    assert len(found) >= 3
    return found


def env_prefix(plugin: str) -> str:
    """Meltano's variable prefix for a plugin's settings (TAP_ACEFONE__ACME_)."""
    return re.sub(r"[^A-Z0-9]", "_", plugin.upper()) + "_"


def test_each_account_plugin_is_named_for_its_account_and_pins_its_own_credentials(accounts):
    labels = set()
    for plugin in accounts:
        name, config = plugin["name"], plugin["config"]
        assert name == f"{PARENT}--{config['account_id']}", name
        labels.add(config["account_id"])
        for setting in CREDENTIALS:
            # Unpinned, a missing variable would let the parent's value through.
            assert config[setting] == f"${env_prefix(name)}{setting.upper()}", (name, setting)
        assert str(config["api_url"]).startswith("https://"), name
    assert len(labels) == len(accounts)


def test_nothing_secret_is_written_in_meltano_yml(project):
    for kind, plugins in project["plugins"].items():
        for plugin in plugins:
            for setting, value in (plugin.get("config") or {}).items():
                if setting in SENSITIVE:
                    assert str(value).startswith("$"), (kind, plugin["name"], setting)


def test_each_account_has_one_job_and_a_staggered_schedule(project, accounts):
    jobs = {job["name"]: job["tasks"] for job in project["jobs"]}
    schedules = {s["job"]: s for s in project["schedules"]}
    minutes = []
    for plugin in accounts:
        account = plugin["config"]["account_id"]
        job = f"acefone-{account}"
        assert jobs[job] == [f"{plugin['name']} target-postgres"], job
        cron = schedules[job]["interval"].split()
        assert len(cron) == 5, schedules[job]
        minutes.append(cron[0])
    assert len(set(minutes)) == len(minutes), "accounts start at the same minute"


def meltano_config(plugin: str, env: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    """What Meltano would hand the tap: `meltano config --unsafe print PLUGIN`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TAP_ACEFONE", "MELTANO_"))}
    base.update(
        {
            "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            **env,
        }
    )
    result = subprocess.run(
        [venv_bin("meltano"), "config", "--unsafe", "print", plugin, "--format=json"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


# The parent's own credentials, set the way `meltano config set tap-acefone ...` or a
# container would: an account must never see them.
PARENT_ENV = {
    "TAP_ACEFONE_API_TOKEN": "parent-token",
    "TAP_ACEFONE_EMAIL": "parent@example.com",
    "TAP_ACEFONE_PASSWORD": "parent-password",
}


def test_every_setting_of_the_pattern_comes_from_the_accounts_own_variables(accounts, tmp_path):
    for index, plugin in enumerate(accounts):
        prefix = env_prefix(plugin["name"])
        login = index % 2 == 1  # alternate the two ways to authenticate
        own = {
            "api_url": f"http://127.0.0.1:{9000 + index}",
            "start_date": f"2025-0{index + 1}-01",
            "timezone": "Europe/London" if index == 2 else "Asia/Kolkata",
            "account_id": f"renamed-{index}",
            **(
                {"email": f"ops{index}@example.com", "password": f"pw-{index}"}
                if login
                else {"api_token": f"token-{index}"}
            ),
        }
        env = {**PARENT_ENV, **{f"{prefix}{k.upper()}": v for k, v in own.items()}}
        config = meltano_config(plugin["name"], env, tmp_path)
        for setting, value in own.items():
            assert config.get(setting) == value, (plugin["name"], setting, config.get(setting))
        for setting in set(CREDENTIALS) - set(own):
            assert setting not in config, (plugin["name"], setting, "inherited from the parent")


def test_an_account_without_its_own_credentials_gets_none_of_the_parents(accounts, tmp_path):
    for plugin in accounts:
        config = meltano_config(plugin["name"], dict(PARENT_ENV), tmp_path)
        assert not set(CREDENTIALS) & set(config), (plugin["name"], config)
        # Its meltano.yml values stand: its own account label and brand host.
        assert config["account_id"] == plugin["config"]["account_id"]
        assert config["api_url"] == plugin["config"]["api_url"]
    # ... while the parent plugin itself does read them.
    parent = meltano_config(PARENT, dict(PARENT_ENV), tmp_path)
    assert parent["api_token"] == PARENT_ENV["TAP_ACEFONE_API_TOKEN"]
