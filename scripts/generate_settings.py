"""Write meltano.yml's tap-acefone settings and the README's settings table from ``--about``.

The tap's settings are described once, in ``tap_acefone/settings.py``; ``tap-acefone --about``
publishes that description, and this script copies it to the two places users read it:

- meltano.yml: the tap-acefone ``settings:`` list between the ``# settings:start`` and
  ``# settings:end`` comments (name, kind, label, value, sensitive, options, placeholder,
  description);
- README.md: the table between ``<!-- settings:start`` and ``<!-- settings:end -->``, as
  ``--about --format markdown`` renders it.

``make settings`` runs it; ``--check`` only reports drift (exit 1), which the tests also
check (tests/test_settings_docs.py).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MELTANO_YML = ROOT / "meltano.yml"
README_START, README_END = "<!-- settings:start", "<!-- settings:end -->"
YML_START, YML_END = "# settings:start", "# settings:end"
YML_INDENT = "    "  # the extractor's `settings:` list in meltano.yml

# JSON Schema type -> Meltano setting kind. A number is `string`: Meltano 4.4's `decimal`
# kind crashes on a value from the environment (see tap_acefone.settings.numbers_from_text,
# which reads the text instead).
KINDS = {
    "string": "string",
    "integer": "integer",
    "number": "string",
    "boolean": "boolean",
    "array": "array",
    "object": "object",
}
NUMBER_NOTE = "# kind string, not decimal: Meltano 4.4 crashes on a decimal from the environment"


class _Dumper(yaml.SafeDumper):
    """Long text as folded block scalars (``>-``), as a person would write it."""


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = ">" if len(value) > 60 else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_text)


def _tap_about(output_format: str) -> str:
    tap = Path(sys.executable).parent / "tap-acefone"
    return subprocess.run(
        [str(tap), "--about", "--format", output_format],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout


def about() -> dict[str, Any]:
    """``tap-acefone --about --format json``."""
    return json.loads(_tap_about("json"))


def json_types(prop: dict[str, Any]) -> list[str]:
    """The non-null JSON types of a setting's schema."""
    types = prop.get("type", [])
    return [t for t in ([types] if isinstance(types, str) else types) if t != "null"]


def meltano_kind(name: str, prop: dict[str, Any]) -> str:
    """The Meltano kind that hands this setting to the tap with the right type."""
    if "enum" in prop:
        return "options"
    types = json_types(prop)
    if len(types) != 1 or types[0] not in KINDS:
        raise ValueError(f"no Meltano kind for setting {name!r} of type {types}")
    return KINDS[types[0]]


def meltano_settings(about_json: dict[str, Any]) -> list[dict[str, Any]]:
    """meltano.yml's tap-acefone ``settings:`` entries, one per top-level setting."""
    entries = []
    for name, prop in about_json["settings"]["properties"].items():
        entry: dict[str, Any] = {
            "name": name,
            "kind": meltano_kind(name, prop),
            "label": prop.get("title") or name.replace("_", " ").capitalize(),
        }
        if prop.get("default") is not None:
            entry["value"] = prop["default"]
        if prop.get("secret") or prop.get("writeOnly"):
            entry["sensitive"] = True
        if "enum" in prop:
            entry["options"] = [{"label": str(v), "value": v} for v in prop["enum"]]
        if prop.get("examples"):
            example = prop["examples"][0]
            entry["placeholder"] = (
                json.dumps(example) if isinstance(example, dict | list) else str(example)
            )
        entry["description"] = prop.get("description", "")
        entries.append(entry)
    return entries


def meltano_block(about_json: dict[str, Any]) -> str:
    """The generated list as meltano.yml's lines, markers included."""
    props = about_json["settings"]["properties"]
    lines = [f"{YML_START} (generated from `tap-acefone --about` by `make settings`;"]
    lines.append("# edit tap_acefone/settings.py, not this list)")
    for entry in meltano_settings(about_json):
        if "number" in json_types(props[entry["name"]]):
            lines.append(NUMBER_NOTE)
        dumped = yaml.dump([entry], Dumper=_Dumper, sort_keys=False, width=84, allow_unicode=True)
        lines += dumped.splitlines()
    lines.append(YML_END)
    return "\n".join(YML_INDENT + line for line in lines)


def meltano_yml_with(text: str, about_json: dict[str, Any]) -> str:
    """meltano.yml's text with the generated block replaced."""
    pattern = re.compile(
        rf"^{re.escape(YML_INDENT + YML_START)}.*?^{re.escape(YML_INDENT + YML_END)}$",
        re.S | re.M,
    )
    if not pattern.search(text):
        raise SystemExit(f"meltano.yml has no '{YML_START}' ... '{YML_END}' block")
    block = meltano_block(about_json)
    return pattern.sub(lambda _: block, text, count=1)


def readme_table() -> str:
    """The settings table as ``--about --format markdown`` renders it."""
    markdown = _tap_about("markdown")
    return markdown[markdown.index("| Setting |") :].split("\n\n")[0].strip()


def readme_with(text: str, table: str) -> str:
    """README's text with the table between the markers replaced."""
    pattern = re.compile(re.escape(README_START) + r"(.*?-->)\n.*?\n" + re.escape(README_END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"README.md has no '{README_START}' ... '{README_END}' block")
    return pattern.sub(lambda m: f"{README_START}{m.group(1)}\n{table}\n{README_END}", text)


def main(argv: list[str] | None = None) -> int:
    """Rewrite both files, or with ``--check`` say which ones drifted (exit 1)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report drift")
    args = parser.parse_args(argv)
    about_json = about()
    wanted = {
        MELTANO_YML: meltano_yml_with(MELTANO_YML.read_text(), about_json),
        README: readme_with(README.read_text(), readme_table()),
    }
    drifted = [path for path, text in wanted.items() if path.read_text() != text]
    if args.check:
        for path in drifted:
            print(f"{path.name} differs from `tap-acefone --about`: run `make settings`")
        return 1 if drifted else 0
    for path in drifted:
        path.write_text(wanted[path])
        print(f"updated {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
