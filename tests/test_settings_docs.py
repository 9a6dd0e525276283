"""The settings are described once: meltano.yml and the README are generated from --about.

`tap_acefone/settings.py` describes every setting; `tap-acefone --about` publishes that, and
`make settings` (scripts/generate_settings.py) writes meltano.yml's tap-acefone `settings:` and
the README's table from it. These tests fail when either file drifts from the tap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts import generate_settings

ROOT = Path(__file__).resolve().parents[1]
FIX = "run `make settings` (the settings are described in tap_acefone/settings.py)"


@pytest.fixture(scope="module")
def about() -> dict[str, Any]:
    return generate_settings.about()


@pytest.fixture(scope="module")
def declared() -> dict[str, dict[str, Any]]:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    (tap,) = [p for p in project["plugins"]["extractors"] if p["name"] == "tap-acefone"]
    return {s["name"]: s for s in tap["settings"]}


def test_meltano_yml_declares_exactly_the_taps_settings(about, declared) -> None:
    offered = about["settings"]["properties"]
    assert list(declared) == list(offered), (
        f"only in meltano.yml: {sorted(set(declared) - set(offered))}; "
        f"only in the tap: {sorted(set(offered) - set(declared))}; {FIX}"
    )


def test_meltano_yml_settings_are_generated_from_about(about, declared) -> None:
    for entry in generate_settings.meltano_settings(about):
        assert declared[entry["name"]] == entry, f"{entry['name']} differs; {FIX}"


def test_secrets_are_sensitive_in_meltano_yml(about, declared) -> None:
    """Meltano keeps a sensitive setting out of meltano.yml (`meltano config set` -> .env)."""
    secrets = {n for n, p in about["settings"]["properties"].items() if p.get("writeOnly")}
    assert secrets >= {"api_token", "password"}
    assert {n for n, s in declared.items() if s.get("sensitive")} == secrets


def test_the_readme_settings_table_is_generated_from_about() -> None:
    readme = (ROOT / "README.md").read_text()
    table = generate_settings.readme_table()
    assert generate_settings.readme_with(readme, table) == readme, FIX


def test_the_check_mode_reports_no_drift() -> None:
    assert generate_settings.main(["--check"]) == 0, FIX
