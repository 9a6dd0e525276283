"""meltano.yml declares both plugins in full (tap-acefone's settings: test_settings_docs.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


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


def test_every_setting_has_kind_label_and_one_sentence(extractor, loader) -> None:
    for plugin in (extractor, loader):
        for setting in plugin["settings"]:
            where = f"{plugin['name']}.{setting['name']}"
            assert setting.get("kind"), where
            assert setting.get("label"), where
            description = setting.get("description", "")
            assert description.strip(), where
            assert description.rstrip().endswith("."), where


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
