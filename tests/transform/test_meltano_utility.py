"""The dbt-postgres utility is declared in full in meltano.yml (Meltano Hub is unreachable),
and its settings, the dbt project's variables and the README say the same thing.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from scripts.harness import REPO_ROOT

VARS_MACRO = REPO_ROOT / "transform" / "macros" / "acefone_vars.sql"
PROFILE = REPO_ROOT / "transform" / "profiles" / "postgres" / "profiles.yml"
_VAR = re.compile(r'"(acefone_[a-z_]+)": \("([A-Z_]+)", "([^"]*)"\)')


@pytest.fixture(scope="module")
def utility() -> dict[str, Any]:
    project = yaml.safe_load((REPO_ROOT / "meltano.yml").read_text())
    (dbt,) = [p for p in project["plugins"]["utilities"] if p["name"] == "dbt-postgres"]
    return dbt


def _variables() -> dict[str, tuple[str, str]]:
    """dbt variable -> (environment variable, default), from macros/acefone_vars.sql."""
    found = {name: (env, default) for name, env, default in _VAR.findall(VARS_MACRO.read_text())}
    assert len(found) >= 8, found
    return found


def test_the_utility_is_declared_in_full_and_pinned(utility: dict[str, Any]) -> None:
    assert utility["namespace"] == "dbt_postgres"
    assert utility["executable"] == "dbt_invoker"
    assert "variant" not in utility  # a Hub-only reference
    requirements = utility["pip_url"].split()
    names = {r.split("==")[0] for r in requirements}
    assert names == {"dbt-core", "dbt-postgres", "meltano-dbt-ext"}
    assert all(re.fullmatch(r"[a-z-]+==[0-9.]+", r) for r in requirements), requirements
    commands = utility["commands"]
    for name in ("build", "run", "test", "freshness"):
        assert commands[name]["args"], name
    assert commands["freshness"]["args"] == "source freshness"
    for name, command in commands.items():
        assert command["description"].rstrip().endswith("."), name


def test_every_setting_has_kind_label_and_one_sentence(utility: dict[str, Any]) -> None:
    for setting in utility["settings"]:
        where = f"dbt-postgres.{setting['name']}"
        assert setting.get("kind"), where
        assert setting.get("label"), where
        assert setting.get("description", "").rstrip().endswith("."), where
    settings = {s["name"]: s for s in utility["settings"]}
    assert settings["password"].get("sensitive")
    assert {"host", "port", "user", "password", "dbname", "schema"} <= set(settings)


def test_settings_reach_the_profile_and_the_variables(utility: dict[str, Any]) -> None:
    """Each connection setting is read by profiles.yml; each model setting feeds a variable
    under the environment name acefone_vars.sql reads, with the same default."""
    profile = PROFILE.read_text()
    exported = {
        s["name"]: s.get("env", f"DBT_POSTGRES_{s['name'].upper()}") for s in utility["settings"]
    }
    for name in ("host", "port", "user", "password", "dbname", "schema", "sslmode", "role"):
        assert f"env_var('{exported[name]}'" in profile, name
    by_env = {env: (variable, default) for variable, (env, default) in _variables().items()}
    defaults = {s["name"]: s.get("value") for s in utility["settings"]}
    for name in (
        "source_schema",
        "account_timezone",
        "service_level_seconds",
        "repeat_call_window_hours",
        "call_back_target_hours",
        "account_id",
    ):
        assert exported[name] in by_env, f"{name} exports {exported[name]}, which no variable reads"
        assert str(defaults[name]) == by_env[exported[name]][1], name


def test_the_readme_lists_every_variable_with_its_default() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("## Analytics", 1)[1].split("\n## ", 1)[0]
    rows = {
        line.split("|")[1].strip().strip("`"): line.split("|")[3].strip().strip("`")
        for line in section.splitlines()
        if line.startswith("| `acefone_")
    }
    for variable, (_, default) in _variables().items():
        assert variable in rows, f"README Analytics lists no {variable}"
        if default:
            assert rows[variable] == default, variable
