"""burst_calls: one local second per day holding more calls than a page."""

from __future__ import annotations

import json
from collections import Counter

from tap_acefone.sandbox import Sandbox

from .conftest import make_config, served_ids, start_key

BURST = 150


def test_every_day_has_one_burst_second(start_sandbox, api):
    sb = start_sandbox(burst_calls=BURST)
    everything = list(sb.all_calls())
    per_day: dict[str, Counter[str]] = {}
    for row in everything:
        per_day.setdefault(row.record["date"], Counter())[start_key(row)] += 1
    assert len(per_day) == 3 + 2  # three days of history, two future days
    for day, seconds in per_day.items():
        second, n = seconds.most_common(1)[0]
        assert n >= BURST, day
        assert seconds.most_common(2)[1][1] < BURST, "one burst a day"
        assert second.startswith(day)
    visible = sb.truth()
    burst_second, n = Counter(start_key(t) for t in visible).most_common(1)[0]
    assert n >= BURST
    expected = {t.id for t in visible if start_key(t) == burst_second}
    served = served_ids(api, sb, {"from_date": burst_second, "to_date": burst_second})
    assert len(served) == len(expected) >= BURST
    assert set(served) == expected
    assert len({t.started_at for t in visible if t.id in expected}) == 1


def test_burst_calls_are_in_every_ground_truth(start_sandbox, tmp_path):
    sb = start_sandbox(burst_calls=BURST)
    plain = Sandbox(make_config())
    assert sb.store.total_calls() == plain.store.total_calls() + 5 * BURST
    assert len(list(sb.all_calls())) == sb.store.total_calls()
    extra = {c.id: c for c in sb.all_calls()}.keys() - {c.id for c in plain.all_calls()}
    assert len(extra) == 5 * BURST
    now = sb.clock.now()
    visible_extra = {c.id for c in sb.all_calls() if c.id in extra and c.visible_at <= now}
    assert len(visible_extra) >= 3 * BURST
    truth = {t.id for t in sb.truth()}
    assert truth == {t.id for t in plain.truth()} | visible_extra
    path = tmp_path / "truth.jsonl"
    assert sb.export_jsonl(path) == len(truth)
    assert {json.loads(line)["id"] for line in path.read_text().splitlines()} == truth


def test_burst_leaves_the_other_calls_as_they_were():
    plain = {t.id: t.record for t in Sandbox(make_config()).all_calls()}
    bursty = {t.id: t.record for t in Sandbox(make_config(burst_calls=BURST)).all_calls()}
    assert plain.items() <= bursty.items()
    assert len(bursty) - len(plain) == 5 * BURST
    again = {t.id: t.record for t in Sandbox(make_config(burst_calls=BURST)).all_calls()}
    assert again == bursty
    other_seed = {t.id for t in Sandbox(make_config(burst_calls=BURST, seed=8)).all_calls()}
    assert not other_seed & set(bursty)
