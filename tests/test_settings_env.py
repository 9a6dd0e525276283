"""Every setting can be set through its environment variable under Meltano, with its type.

Containers and orchestrators configure through the environment, so each tap-acefone setting
of `tap-acefone --about` (new ones included, automatically) is set as the text a person would
export (`TAP_ACEFONE_REQUESTS_PER_SECOND=0.51`, `TAP_ACEFONE_AGENTS='["a-1","b-2"]'`,
`TAP_ACEFONE_BROADCAST=false`, ...), read back through the real `meltano config print` and
`meltano invoke --dump=config` (what the tap receives), and handed to the tap, whose
validated config must hold each value with its JSON type.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from singer_sdk.exceptions import ConfigValidationError

from scripts import generate_settings
from tap_acefone.tap import TapAcefone

ROOT = Path(__file__).resolve().parents[1]
MELTANO = str(Path(sys.executable).parent / "meltano")
AUTH_MODES = {"static token": ("email", "password"), "login": ("api_token",)}
# The SDK's built-in object settings: a value each of them accepts.
OBJECT_SAMPLES: dict[str, Any] = {
    "stream_maps": {"users": {"__alias__": "agents"}},
    "stream_map_config": {"hash_seed": "s3"},
    "faker_config": {"seed": 7, "locale": ["en_IN"]},
    "batch_config": {
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "storage": {"root": "file:///tmp/batches", "prefix": "b-"},
    },
}


def sample(name: str, prop: dict[str, Any]) -> Any:
    """A valid value for the setting that differs from its default, from its schema alone."""
    types = generate_settings.json_types(prop)
    default = prop.get("default")
    if "enum" in prop:
        return next(v for v in reversed(prop["enum"]) if v != default)
    if types == ["boolean"]:
        return default is False  # false unless that is the default: "false" is truthy text
    if types == ["integer"]:
        value = prop.get("minimum", 2) + 1
        return value if value != default else value + 1
    if types == ["number"]:
        return prop.get("minimum", 0) + 0.5
    if types == ["array"]:
        return ["a-1", "b-2"]
    if types == ["object"]:
        if name in OBJECT_SAMPLES:
            return OBJECT_SAMPLES[name]
    elif types == ["string"]:
        return prop["examples"][0] if prop.get("examples") else f"{name}-sample"
    if prop.get("examples"):
        return prop["examples"][0]
    raise AssertionError(f"no sample for setting {name!r}: give it `examples` in settings.py")


def as_env_text(value: Any) -> str:
    """What a person exports: numbers and text as written, lists and objects as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def env_var(name: str) -> str:
    return f"TAP_ACEFONE_{name.upper()}"


@pytest.fixture(scope="module")
def props() -> dict[str, Any]:
    return generate_settings.about()["settings"]["properties"]


@pytest.fixture(scope="module")
def samples(props) -> dict[str, Any]:
    return {name: sample(name, prop) for name, prop in props.items()}


def hermetic_env(tmp_path: Path, settings: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAP_ACEFONE_", "MELTANO_"))}
    env.update(
        MELTANO_DATABASE_URI=f"sqlite:///{tmp_path / 'meltano.db'}",
        MELTANO_SEND_ANONYMOUS_USAGE_STATS="false",
        NO_COLOR="1",
    )
    env.update(settings)
    return env


def meltano_json(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    run = subprocess.run(
        [MELTANO, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout)


@pytest.fixture(scope="module")
def through_meltano(samples, tmp_path_factory) -> dict[str, dict[str, Any]]:
    """`meltano config print` and `meltano invoke --dump=config` with every setting set."""
    tmp_path = tmp_path_factory.mktemp("meltano-env")
    env = hermetic_env(tmp_path, {env_var(n): as_env_text(v) for n, v in samples.items()})
    return {
        "config print": meltano_json(["config", "print", "tap-acefone"], env),
        "invoke --dump=config": meltano_json(["invoke", "--dump=config", "tap-acefone"], env),
    }


def test_meltano_reads_every_setting_from_the_environment(props, samples, through_meltano) -> None:
    printed, dumped = through_meltano["config print"], through_meltano["invoke --dump=config"]
    assert set(samples) <= set(dumped), sorted(set(samples) - set(dumped))
    for name, expected in samples.items():
        # `config print` masks secrets; otherwise it shows what the tap receives.
        assert printed[name] == ("*****" if props[name].get("writeOnly") else dumped[name]), name
        if isinstance(expected, float):  # a number arrives as its text (kind string)
            assert dumped[name] == as_env_text(expected), name
        else:
            assert dumped[name] == expected, name
            assert type(dumped[name]) is type(expected), name


@pytest.mark.parametrize("mode", list(AUTH_MODES))
def test_the_tap_gets_every_setting_from_the_environment_typed(
    samples, through_meltano, mode
) -> None:
    dumped = through_meltano["invoke --dump=config"]
    config = {k: v for k, v in dumped.items() if k not in AUTH_MODES[mode]}
    tap = TapAcefone(config=config, validate_config=True, setup_mapper=False)
    for name, expected in samples.items():
        if name in AUTH_MODES[mode]:
            continue
        assert tap.config[name] == expected, name
        assert type(tap.config[name]) is type(expected), name


def test_a_start_date_from_the_environment_is_not_reinterpreted(tmp_path) -> None:
    """Meltano's date kind turned 2026-13-01 into 2026-01-13; the tap must see what was set."""
    env = hermetic_env(
        tmp_path,
        {"TAP_ACEFONE_START_DATE": "2026-13-01", "TAP_ACEFONE_API_TOKEN": "token-1"},
    )
    dumped = meltano_json(["invoke", "--dump=config", "tap-acefone"], env)
    assert dumped["start_date"] == "2026-13-01"
    with pytest.raises(ConfigValidationError) as refused:
        TapAcefone(config=dumped, validate_config=True, setup_mapper=False)
    assert any("start_date '2026-13-01'" in error for error in refused.value.errors)
