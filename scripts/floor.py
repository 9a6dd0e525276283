r"""The physical floor for extracting call records: the work no tap can avoid.

Fetches exactly the pages the tap fetches (the same UTC windows of ``--window-hours`` from
``--start`` to ``--end``, asked for as local ``from_date``/``to_date``, ``limit=--page-size``,
pages 1.. until the rows seen reach the envelope's ``count`` or a page is empty), one page
after another on one keep-alive ``http.client`` connection, decodes each page with
``json.loads`` and writes every record with one ``json.dumps`` as one line to stdout. Nothing
else: no type coercion, no schema, no Singer envelope, no retries, no pacing, no concurrency,
and nothing imported that the standard library does not have (``requests`` alone costs about
0.1 s to import and 60 µs a page).

Deliberately minimal, so that ``tap wall time / floor wall time`` measures what the tap
costs on top of the unavoidable HTTP + JSON work. Time zones without DST only need the plain
conversion used here (the benchmark runs the sandbox in Asia/Kolkata).

    python scripts/floor.py --url http://127.0.0.1:8417 --start 2026-03-10T18:30:00Z \
        --end 2026-03-12T18:29:59Z > /dev/null

The totals (windows, pages, records, seconds) go to stderr as one JSON line.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

LOCAL_FORMAT = "%Y-%m-%d %H:%M:%S"


def instant(text: str) -> datetime:
    """ISO 8601 with an offset (``Z`` accepted) -> aware UTC datetime, whole seconds."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise SystemExit(f"floor: {text!r} needs a UTC offset")
    return parsed.astimezone(timezone.utc).replace(microsecond=0)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The floor's options: the tap's own settings, by the same names."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="API base URL")
    p.add_argument("--token", default="sandbox-static-token")
    p.add_argument("--start", required=True, type=instant, help="first instant (with offset)")
    p.add_argument("--end", required=True, type=instant, help="end instant, exclusive")
    p.add_argument("--timezone", default="Asia/Kolkata")
    p.add_argument("--window-hours", type=int, default=24)
    p.add_argument("--page-size", type=int, default=1000)
    p.add_argument(
        "--client",
        choices=("http.client", "requests"),
        default="http.client",
        help="HTTP client (requests: for comparison, what most taps use)",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Fetch every page of every window; one JSON line per record on stdout."""
    args = parse_args(argv)
    began = time.monotonic()
    tz = ZoneInfo(args.timezone)
    base = urlsplit(args.url)
    path = base.path.rstrip("/") + "/v1/call/records?"
    headers = {"Accept": "application/json", "Authorization": f"Bearer {args.token}"}
    get = _requests_get(args.url, headers) if args.client == "requests" else None
    connection = http.client.HTTPConnection(base.hostname or "127.0.0.1", base.port, timeout=120)
    out = sys.stdout
    dumps = json.dumps
    windows = pages = records = 0

    start = args.start
    while start < args.end:
        stop = min(start + timedelta(hours=args.window_hours), args.end)
        params = {
            "from_date": start.astimezone(tz).strftime(LOCAL_FORMAT),
            "to_date": (stop - timedelta(seconds=1)).astimezone(tz).strftime(LOCAL_FORMAT),
            "limit": args.page_size,
        }
        windows += 1
        page, seen = 1, 0
        while True:
            query = path + urlencode({**params, "page": page})
            if get is not None:
                status, content = get(query)
            else:
                connection.request("GET", query, headers=headers)
                response = connection.getresponse()
                status, content = response.status, response.read()
            if status != 200:
                raise SystemExit(f"floor: HTTP {status}: {content[:200]!r}")
            body = json.loads(content)
            rows = body["results"]
            pages += 1
            for row in rows:
                out.write(dumps(row))
                out.write("\n")
            records += len(rows)
            seen += len(rows)
            if not rows or seen >= int(body["count"]):
                break
            page += 1
        start = stop

    out.flush()
    totals = {
        "windows": windows,
        "pages": pages,
        "records": records,
        "seconds": round(time.monotonic() - began, 3),
    }
    print(json.dumps(totals), file=sys.stderr)
    return 0


def _requests_get(url: str, headers: dict[str, str]) -> Callable[[str], tuple[int, bytes]]:
    """The same GET on one keep-alive ``requests.Session`` (imported only when asked for)."""
    import requests  # noqa: PLC0415

    session = requests.Session()
    session.headers.update(headers)
    origin = url.rstrip("/").removesuffix(urlsplit(url).path.rstrip("/"))

    def get(query: str) -> tuple[int, bytes]:
        response = session.get(origin + query, timeout=120)
        return response.status_code, response.content

    return get


if __name__ == "__main__":
    sys.exit(main())
