"""Refresh the README's settings table from `tap-acefone --about --format markdown`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- settings:start", "<!-- settings:end -->"


def settings_table() -> str:
    """The settings table as the tap itself describes it."""
    tap = Path(sys.executable).parent / "tap-acefone"
    about = subprocess.run(
        [str(tap), "--about", "--format", "markdown"], capture_output=True, text=True, check=True
    ).stdout
    return about[about.index("| Setting |") :].split("\n\n")[0].strip()


def main() -> None:
    """Replace whatever stands between the markers."""
    text = README.read_text()
    pattern = re.compile(re.escape(START) + r"(.*?-->)\n.*?\n" + re.escape(END), re.S)
    text = pattern.sub(lambda m: f"{START}{m.group(1)}\n{settings_table()}\n{END}", text)
    README.write_text(text)


if __name__ == "__main__":
    main()
