"""A page rendered by a real headless Chromium (Debian's, which .ci/run installs).

:func:`rendered_dom` opens a file in Chromium with its JavaScript run to completion
(``--virtual-time-budget``) and returns the DOM as Chromium drew it; :class:`ChartReader`
reads plotly's drawing out of it: per chart, the SVG it rendered, its bars and points and
its texts. The machine has no network, and the flags keep Chromium from trying to reach it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path

import pytest

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
)


def chromium() -> str:
    """The Chromium binary; a skip outside CI when missing (CI installs it, so there a fail)."""
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    message = "no Chromium on this machine (apt-get install chromium; .ci/run does)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
    raise AssertionError  # unreachable: pytest.skip raises


def _run(args: list[str], profile: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        timeout=180,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def rendered_dom(page: Path, profile: Path) -> str:
    """The DOM of ``page`` after its scripts ran, as Chromium serialises it."""
    result = _run(["--virtual-time-budget=20000", "--dump-dom", page.resolve().as_uri()], profile)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    return result.stdout.decode()


def screenshot(page: Path, png: Path, profile: Path, size: str = "1200,2600") -> Path:
    """A PNG of ``page`` as Chromium draws it."""
    result = _run(
        [
            "--virtual-time-budget=20000",
            f"--window-size={size}",
            f"--screenshot={png}",
            page.resolve().as_uri(),
        ],
        profile,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    assert png.exists(), f"Chromium wrote no {png}"
    return png


class ChartReader(HTMLParser):
    """What plotly drew inside each element whose id is in ``chart_ids``."""

    def __init__(self, chart_ids: tuple[str, ...]) -> None:
        super().__init__(convert_charrefs=True)
        self.chart_ids = set(chart_ids)
        self.svgs: dict[str, int] = defaultdict(int)
        self.bars: dict[str, int] = defaultdict(int)  # bar shapes with a non-empty outline
        self.markers: dict[str, int] = defaultdict(int)  # scatter markers
        self.texts: dict[str, list[str]] = defaultdict(list)
        self._stack: list[tuple[str, str | None, str]] = []  # (tag, chart, class)

    @property
    def _chart(self) -> str | None:
        return self._stack[-1][1] if self._stack else None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Track which chart we are in and count what plotly drew."""
        attributes = dict(attrs)
        chart = attributes.get("id") if attributes.get("id") in self.chart_ids else self._chart
        classes = attributes.get("class") or ""
        parent_classes = self._stack[-1][2] if self._stack else ""
        if chart:
            if tag == "svg" and "main-svg" in classes.split():
                self.svgs[chart] += 1
            outline = attributes.get("d") or ""
            if tag == "path" and parent_classes == "point" and outline not in ("", "M0,0Z"):
                self.bars[chart] += 1
            if tag == "path" and "point" in classes.split():
                self.markers[chart] += 1
        if tag not in ("path", "rect", "line", "circle", "br", "img", "meta", "input"):
            self._stack.append((tag, chart, classes))

    def handle_endtag(self, tag: str) -> None:
        """Leave the element (tolerating the self-closing ones)."""
        for index in range(len(self._stack) - 1, -1, -1):
            if self._stack[index][0] == tag:
                del self._stack[index:]
                break

    def handle_data(self, data: str) -> None:
        """Collect the text a chart shows (axis labels, bar texts, table cells)."""
        chart = self._chart
        if chart and data.strip() and self._stack[-1][0] != "script":
            self.texts[chart].append(data.strip())


def read_charts(dom: str, chart_ids: tuple[str, ...]) -> ChartReader:
    """Parse a rendered DOM for the given charts."""
    reader = ChartReader(chart_ids)
    reader.feed(dom)
    reader.close()
    return reader
