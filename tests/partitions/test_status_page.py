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


@pytest.mark.parametrize("keys_given", [False, True])
def test_set_based_counts_and_work_agree_with_the_key_by_key_status(conn, monkeypatch, keys_given
                                                           ) -> None:
    """Every state and reason at once — missing, failed, stale by code, by a changed input, by
    a changed AllOf upstream, running, a dead run's claim, a failed blocking check — counted
    the set-wise way (forced for a small set) equals the per-key status of the same keys, and
    so does the work a run plans from (`needing_work`), either way."""
    import importlib
    from collections import Counter

    from talentflow.partitions import AllOf, Dep, claims, observe, source_asset

    status_module = importlib.import_module("talentflow.partitions.status")

    docs = DynamicPartitions("set_docs")
    refs = DynamicPartitions("set_refs")
    keys = [f"s-{i:03d}" for i in range(60)]
    registry.add_keys(conn, "set_docs", keys)
    registry.add_keys(conn, "set_refs", ["r1", "r2"])
    raw = source_asset("set_raw", docs)
    ref = source_asset("set_ref", refs)
    scored = Asset("set_scored", docs, deps=[Dep(raw), Dep(ref, AllOf())], code=["v1"])
    scored.blocking_checks = ("positive",)
    observe(conn, raw, [(k, f"row-{k}") for k in keys])
    observe(conn, ref, [("r1", "a"), ("r2", "b")])
    from talentflow.partitions import current_inputs

    done = keys[10:]
    inputs = current_inputs(conn, scored, done)
    record_many(conn, scored, [Record(k, f"v-{k}", inputs=inputs[k]) for k in done])
    record_many(conn, scored, [Record(k, None, status="failed", error="x") for k in keys[10:15]])
    old = Asset("set_scored", docs, deps=[Dep(raw), Dep(ref, AllOf())], code=["v0"])
    old_inputs = current_inputs(conn, old, keys[15:20])
    record_many(conn, old, [Record(k, f"old-{k}", inputs=old_inputs[k]) for k in keys[15:20]])
    observe(conn, raw, [(k, f"edited-{k}") for k in keys[20:25]])
    claims.claim(conn, "set_scored", keys[25:28], holder="alive", flow_run_id=None,
                 lease_s=600)
    claims.claim(conn, "set_scored", keys[28:30], holder="dead", flow_run_id=None,
                 lease_s=1)
    conn.execute("UPDATE partition_claims SET heartbeat_at = now() - interval '1 hour' "
                 "WHERE holder = 'dead'")
    mats = dict(conn.execute("SELECT partition_key, success_id FROM partition_latest WHERE "
                             "asset = 'set_scored' AND partition_key = ANY(%s)",
                             (keys[30:33],)).fetchall())
    for k, mid in mats.items():
        conn.execute("INSERT INTO check_latest (check_name, partition_key, asset, result_id, "
                     "materialization_id, outcome, blocks) VALUES ('positive', %s, "
                     "'set_scored', 0, %s, 'failed', true)", (k, mid))

    def both() -> tuple[dict[str, int], Counter]:
        selection = keys if keys_given else None
        every = status(conn, scored, selection)
        by_key = Counter(s.status for s in every)
        # What a run plans from: the same keys, reasons and order, whichever way it is found.
        expected = status_module.Work([s for s in every if s.status != "materialized"],
                                      by_key["materialized"])
        assert status_module.needing_work(conn, scored, selection) == expected
        monkeypatch.setattr(status_module, "SET_BASED_MIN", 0)
        got = status_module.counts(conn, scored, selection)
        assert status_module.needing_work(conn, scored, selection) == expected
        monkeypatch.setattr(status_module, "SET_BASED_MIN", 20_000)
        return got, by_key

    got, by_key = both()
    assert {s: n for s, n in got.items() if n} == dict(by_key)
    assert by_key == Counter({"missing": 10, "failed": 5 + 2 + 3, "stale": 5 + 5,
                              "running": 3, "materialized": 60 - 10 - 10 - 10 - 3})
    observe(conn, ref, [("r2", "changed")])  # every materialized key reads all of set_ref
    got, by_key = both()
    assert {s: n for s, n in got.items() if n} == dict(by_key)
    # Check-failed keys are stale first: only missing, failed, dead and running keys are not.
    assert by_key["stale"] == 60 - 10 - 5 - 2 - 3
    # The settings the set-wise query needs are put back for the caller.
    assert conn.execute("SELECT current_setting('enable_nestloop')").fetchone()[0] == "on"


def test_streamed_status_equals_the_whole_status_with_propagation(conn) -> None:
    """`iter_status` (what `talentflow status` prints from), a few keys at a time, gives the
    keys, states and reasons of one whole `status` call — propagated reasons included, from
    an upstream read one-to-one and one read whole."""
    from talentflow.engine import Definitions
    from talentflow.partitions import AllOf, Dep, current_inputs, observe, source_asset
    from talentflow.partitions.status import iter_status, iter_status_all

    docs = DynamicPartitions("stream_docs")
    refs = DynamicPartitions("stream_refs")
    keys = [f"d-{i:02d}" for i in range(23)]
    registry.add_keys(conn, "stream_docs", keys)
    registry.add_keys(conn, "stream_refs", ["r1", "r2"])
    defs = Definitions(assets=[
        source_asset("stream_raw", docs), source_asset("stream_ref", refs),
        Asset("stream_clean", docs, deps=[Dep("stream_raw")], code=["v1"]),
        Asset("stream_ref_clean", refs, deps=[Dep("stream_ref")], code=["v1"]),
        Asset("stream_scored", docs,
              deps=[Dep("stream_clean"), Dep("stream_ref_clean", AllOf())], code=["v1"]),
    ])
    raw, ref, clean, ref_clean, scored = (defs.get(f"stream_{n}") for n in (
        "raw", "ref", "clean", "ref_clean", "scored"))
    observe(conn, raw, [(k, f"row-{k}") for k in keys])
    observe(conn, ref, [("r1", "a"), ("r2", "b")])
    for a, ks in ((clean, keys), (ref_clean, ["r1", "r2"]), (scored, keys[3:])):
        inputs = current_inputs(conn, a, ks)
        record_many(conn, a, [Record(k, f"v-{k}", inputs=inputs[k]) for k in ks])
    observe(conn, raw, [(k, f"edited-{k}") for k in keys[5:9]])  # clean stale there
    observe(conn, ref, [("r2", "edited")])  # ref_clean['r2'] stale: every scored key

    whole = status(conn, scored, propagate=True)
    assert list(iter_status(conn, scored, propagate=True, chunk=4)) == whole
    assert list(iter_status(conn, scored, chunk=5)) == status(conn, scored)
    assert {s.status for s in whole[3:]} == {"stale"}  # through the AllOf upstream
    assert "upstream stream_clean['d-05'] is stale" in whole[5].describe()
    streamed = {a.name: list(rows) for a, rows in iter_status_all(
        conn, [raw, ref, clean, ref_clean, scored], chunk=3)}
    assert streamed["stream_scored"] == whole
