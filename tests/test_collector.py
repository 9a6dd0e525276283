"""Python's cycle collector during a sync: off between pages, run every few pages, restored."""

from __future__ import annotations

import gc
import weakref

import pytest

from tap_acefone.collector import collections_between_pages
from tap_acefone.tap import TapAcefone
from tests.taprun import tap_config


class Node:
    """An object that can be put in a reference cycle and watched."""

    other: Node | None = None


def a_dropped_cycle() -> weakref.ref[Node]:
    """A reference cycle no one holds any more: only the cycle collector can free it."""
    first, second = Node(), Node()
    first.other, second.other = second, first
    return weakref.ref(first)


@pytest.fixture
def collector_enabled():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_cycles_wait_for_the_page_that_is_due(collector_enabled):
    with collections_between_pages(every=3) as collector:
        assert not gc.isenabled()
        cycle = a_dropped_cycle()
        for _ in range(50_000):  # far more allocations than an automatic collection waits for
            Node()
        collector.page_fetched()
        collector.page_fetched()
        assert cycle() is not None
        collector.page_fetched()
        assert cycle() is None
        assert collector.collections == 1


def test_the_collector_is_restored_however_the_block_ends(collector_enabled):
    with pytest.raises(RuntimeError), collections_between_pages():
        raise RuntimeError("the sync failed")
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    gc.disable()
    with collections_between_pages():
        pass
    assert not gc.isenabled()  # it was off before: it stays off


def test_a_sync_leaves_the_collector_as_it_found_it(sandbox, collector_enabled):
    tap = TapAcefone(config=tap_config(sandbox, days=1, page_size=50))
    seen: list[bool] = []
    records = tap.streams["call_records"].get_records(None)
    for _ in records:
        seen.append(gc.isenabled())
    assert seen
    assert not any(seen)  # off while the records were read
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
