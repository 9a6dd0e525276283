"""meltano.yml declares both plugins in full and agrees with the tap's own settings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

# The tap's settings contract (see meltano.yml): name -> Meltano kind.
CONTRACT_KINDS = {
    "api_url": "string",
    "api_token": "string",
    "email": "string",
    "password": "string",
    "start_date": "date_iso8601",
    "end_date": "date_iso8601",
    "timezone": "string",
    "page_size": "integer",
    "window_hours": "integer",
    "lookback_minutes": "integer",
    "requests_per_second": "decimal",
    "request_timeout": "integer",
    "max_tries": "integer",
    "call_type": "options",
    "direction": "options",
    "agents": "array",
    "department": "array",
    "ivr": "array",
    "callerid": "string",
    "destination": "string",
    "did_number": "string",
    "services": "string",
    "duration": "integer",
    "operator": "options",
    "broadcast": "boolean",
}
SENSITIVE = {"api_token", "password"}
# JSON Schema type of a tap setting -> the Meltano kinds that may declare it.
KINDS_FOR_TYPE = {
    "string": {"string", "date_iso8601", "options", "email"},
    "integer": {"integer", "options"},
    "number": {"decimal", "integer"},
    "boolean": {"boolean"},
    "array": {"array"},
    "object": {"object"},
}


@pytest.fixture(scope="module")
def project() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "meltano.yml").read_text())


@pytest.fixture(scope="module")
def extractor(project: dict[str, Any]) -> dict[str, Any]:
    (tap,) = [p for p in project["plugins"]["extractors"] if p["name"] == "tap-acefone"]
    return tap


@pytest.fixture(scope="module")
def loader(project: dict[str, Any]) -> dict[str, Any]:
    (target,) = [p for p in project["plugins"]["loaders"] if p["name"] == "target-postgres"]
    return target


@pytest.fixture(scope="module")
def about() -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "tap_acefone", "--about", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=120,
    )
    return json.loads(out.stdout)


def test_project_keeps_state_and_needs_no_hub(project: dict[str, Any]) -> None:
    assert project["default_environment"] == "dev"
    assert {e["name"] for e in project["environments"]} >= {"dev", "prod"}
    assert "requires_meltano" in project
    for kind in ("extractors", "loaders"):
        declared = {plugin["name"] for plugin in project["plugins"][kind]}
        for plugin in project["plugins"][kind]:
            # A plugin known only by its Hub variant cannot be installed without Meltano Hub.
            assert "variant" not in plugin, plugin["name"]
            if "inherit_from" in plugin:  # an account plugin: all of it comes from its parent
                assert plugin["inherit_from"] in declared, plugin["name"]
                assert "pip_url" not in plugin, plugin["name"]
                continue
            for key in ("namespace", "pip_url", "executable", "settings"):
                assert plugin.get(key), (plugin["name"], key)


def test_extractor_contract(extractor: dict[str, Any]) -> None:
    assert extractor["namespace"] == "tap_acefone"
    assert extractor["pip_url"] == "-e ."
    assert extractor["executable"] == "tap-acefone"
    assert set(extractor["capabilities"]) == {
        "state",
        "catalog",
        "discover",
        "about",
        "stream-maps",
        "schema-flattening",
        "structured-logging",
    }
    assert extractor["settings_group_validation"] == [
        ["api_token", "start_date"],
        ["email", "password", "start_date"],
    ]
    settings = {s["name"]: s for s in extractor["settings"]}
    for name, kind in CONTRACT_KINDS.items():
        assert name in settings, name
        assert settings[name]["kind"] == kind, name
        assert bool(settings[name].get("sensitive")) == (name in SENSITIVE), name
    assert [o["value"] for o in settings["call_type"]["options"]] == ["c", "m"]
    assert [o["value"] for o in settings["direction"]["options"]] == ["inbound", "outbound"]
    assert [o["value"] for o in settings["operator"]["options"]] == [">", "<", ">=", "<=", "!="]
    defaults = {name: s.get("value") for name, s in settings.items()}
    assert defaults["api_url"] == "https://api.acefone.in"
    assert defaults["timezone"] == "Asia/Kolkata"
    assert (defaults["page_size"], defaults["window_hours"]) == (100, 24)
    assert (defaults["lookback_minutes"], defaults["requests_per_second"]) == (120, 2)
    assert (defaults["request_timeout"], defaults["max_tries"]) == (120, 8)


def test_every_setting_has_kind_label_and_one_sentence(extractor, loader) -> None:
    for plugin in (extractor, loader):
        for setting in plugin["settings"]:
            where = f"{plugin['name']}.{setting['name']}"
            assert setting.get("kind"), where
            assert setting.get("label"), where
            description = setting.get("description", "")
            assert description.strip(), where
            assert description.rstrip().endswith("."), where


def test_meltano_yml_matches_the_taps_settings(extractor, about) -> None:
    declared = {s["name"]: s for s in extractor["settings"]}
    offered = about["settings"]["properties"]
    assert set(declared) == set(offered), (
        f"only in meltano.yml: {sorted(set(declared) - set(offered))}; "
        f"only in the tap: {sorted(set(offered) - set(declared))}"
    )
    for name, schema in offered.items():
        types = schema.get("type", [])
        types = [types] if isinstance(types, str) else types
        json_type = next(t for t in types if t != "null")
        assert declared[name]["kind"] in KINDS_FOR_TYPE[json_type], (name, json_type)
        if "enum" in schema:
            assert [o["value"] for o in declared[name]["options"]] == schema["enum"], name
        if "default" in schema:
            assert declared[name].get("value") == schema["default"], name
        if schema.get("secret") or schema.get("writeOnly"):
            assert declared[name].get("sensitive"), name


def test_loader_is_pinned_and_configured(loader: dict[str, Any]) -> None:
    assert loader["namespace"] == "target_postgres"
    assert loader["pip_url"] == "meltanolabs-target-postgres==0.8.1"
    assert loader["executable"] == "target-postgres"
    names = {s["name"] for s in loader["settings"]}
    assert {"sqlalchemy_url", "host", "port", "user", "password", "database"} <= names
    assert loader["config"] == {
        "default_target_schema": "tap_acefone",
        "use_copy": True,
        "add_record_metadata": True,
        "validate_records": False,  # the tap's output is proven to conform (tests/faults)
    }
