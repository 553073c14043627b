"""Paged status: pages filtered by state in SQL, in key order, that together are exactly the
full status filtered in Python (the detail query, another code path)."""

from __future__ import annotations

import random

import pytest

from talentflow.partitions import (
    Asset,
    DynamicPartitions,
    Record,
    TimeWindowPartitions,
    record_many,
    registry,
    status,
)
from talentflow.partitions.status import page


def _pages(conn, asset: Asset, states: list[str] | None, size: int) -> list:
    out, after = [], None
    while True:
        got = page(conn, asset, states=states, after=after, limit=size)
        out.extend(got)
        if len(got) < size:
            return out
        after = got[-1].key


def _random_states(conn, asset: Asset, keys: list[str], seed: int) -> None:
    rng = random.Random(seed)
    done = [k for k in keys if rng.random() < 0.6]
    broken = [k for k in keys if k not in done and rng.random() < 0.5]
    record_many(conn, asset, [Record(k, f"v-{k}") for k in done]
                + [Record(k, None, status="failed", error="boom") for k in broken])


@pytest.mark.parametrize("states", [None, ["failed"], ["missing", "failed"], ["stale"]])
def test_pages_of_a_dynamic_set_are_the_filtered_status(conn, states) -> None:
    docs = DynamicPartitions("paged_docs")
    keys = [f"d-{i:03d}" for i in range(137)] + ["Z", "a", "é", "d-0\n"]
    registry.add_keys(conn, "paged_docs", keys)
    asset = Asset("paged", docs, code=["v1"])
    _random_states(conn, asset, keys, seed=11)

    whole = [s for s in status(conn, asset) if not states or s.status in states]
    assert [s.key for s in whole] == sorted(s.key for s in whole)  # both in byte order
    for size in (1, 7, 1000):
        assert _pages(conn, asset, states, size) == whole


def test_pages_of_time_windows_follow_window_order(conn) -> None:
    hours = TimeWindowPartitions.hourly("paged_hours", "2026-10-24", end="2026-10-27",
                                        timezone="Europe/London")  # a DST fall-back inside
    asset = Asset("paged_hourly", hours, code=["v1"])
    keys = hours.keys()
    _random_states(conn, asset, keys, seed=3)
    whole = [s for s in status(conn, asset) if s.status == "failed"]
    assert _pages(conn, asset, ["failed"], 5) == whole
    with pytest.raises(ValueError, match="is not a key of 'paged_hours'"):
        page(conn, asset, after="yesterday")
    with pytest.raises(ValueError, match="unknown state"):
        page(conn, asset, states=["bogus"])
