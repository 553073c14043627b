"""Materialization records: lifecycle, latest state, inputs, retention, bulk writes."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from talentflow.partitions import (
    ALL,
    AllOf,
    Asset,
    Custom,
    Dep,
    DynamicPartitions,
    ReasonKind,
    Record,
    StaticPartitions,
    current_inputs,
    fail,
    latest,
    observe,
    record_many,
    registry,
    source_asset,
    start,
    status,
    succeed,
)
from talentflow.partitions import materializations as mz

docs = DynamicPartitions("docs")


def test_lifecycle_and_latest(conn) -> None:
    mid = start(conn, "clean", "k1", "code-1", {("raw", "k1"): "r1"},
                flow_run_id="flow-1", task_run_id="task-1")
    now = latest(conn, "clean", "k1")
    assert now is not None and (now.status, now.materialization_id, now.success_id) == (
        "running", mid, None)
    assert now.changed_seq is None  # no data yet: no change number taken
    succeed(conn, mid, "d1", {"rows": 3})
    now = latest(conn, "clean", "k1")
    # changed_seq is the asset's own change counter (1: its first change), not the id.
    assert (now.status, now.success_id, now.data_version, now.code_version, now.changed_seq) == (
        "materialized", mid, "d1", "code-1", 1)
    assert mz.watermarks(conn, ["clean"]) == {"clean": 1}
    [record] = mz.history(conn, "clean", "k1")
    assert (record.flow_run_id, record.task_run_id, record.metadata) == (
        "flow-1", "task-1", {"rows": 3})
    assert record.inputs == {("raw", "k1"): "r1"} and record.finished_at >= record.started_at

    # A failure is the latest attempt; the data (and what it was computed from) stays.
    failed = start(conn, "clean", "k1", "code-1", {})
    fail(conn, failed, "ValueError: boom")
    now = latest(conn, "clean", "k1")
    assert (now.status, now.materialization_id, now.success_id, now.data_version) == (
        "failed", failed, mid, "d1")
    assert mz.history(conn, "clean", "k1")[0].error == "ValueError: boom"
    with pytest.raises(ValueError, match="is failed, not running"):
        succeed(conn, failed, "d2")
    with pytest.raises(ValueError, match="does not exist"):
        fail(conn, 999_999, "x")


def _change_seq(conn, asset: str) -> int:
    return conn.execute("SELECT change_seq FROM partition_assets WHERE asset = %s",
                        (asset,)).fetchone()[0]


def test_changed_seq_moves_only_when_the_data_changes(conn) -> None:
    first = start(conn, "a", "k", "c", {})
    succeed(conn, first, "same")
    assert latest(conn, "a", "k").changed_seq == _change_seq(conn, "a") == 1
    again = start(conn, "a", "k", "c", {})
    succeed(conn, again, "same")
    now = latest(conn, "a", "k")
    assert (now.success_id, now.changed_seq) == (again, 1)  # same data: no change
    assert mz.watermarks(conn, ["a"]) == {"a": 1}  # ... so consumers of all of `a` stay fresh
    third = start(conn, "a", "k", "c", {})
    succeed(conn, third, "different")
    assert latest(conn, "a", "k").changed_seq == _change_seq(conn, "a") == 3
    assert mz.watermarks(conn, ["a"]) == {"a": 3}
    # Failures take no number; other assets count on their own.
    fail(conn, start(conn, "a", "k", "c", {}), "boom")
    assert _change_seq(conn, "a") == 3
    record_many(conn, "b", [Record("x", "1", "c"), Record("y", "1", "c")])
    record_many(conn, "a", [Record("k2", "1", "c")])
    # One bulk write is one change: both keys share the number.
    assert (latest(conn, "b", "x").changed_seq, latest(conn, "b", "y").changed_seq) == (1, 1)
    assert latest(conn, "a", "k2").changed_seq == 4
    assert mz.watermarks(conn, ["a", "b", "never"]) == {"a": 4, "b": 1, "never": 0}
    assert mz.watermarks(conn, []) == {}


def test_a_late_older_success_does_not_overwrite_a_newer_one(conn) -> None:
    old = start(conn, "a", "k", "c", {})
    new = start(conn, "a", "k", "c", {})
    succeed(conn, new, "new")
    succeed(conn, old, "old")
    now = latest(conn, "a", "k")
    assert (now.materialization_id, now.success_id, now.data_version) == (new, new, "new")


def test_retention_keeps_the_last_n_and_the_current_data(conn, monkeypatch) -> None:
    monkeypatch.setenv("TALENTFLOW_HISTORY_KEEP", "5")
    good = start(conn, "a", "k", "c", {("up", "k"): "v"})
    succeed(conn, good, "d")
    for _ in range(12):
        fail(conn, start(conn, "a", "k", "c", {}), "boom")
    kept = mz.history(conn, "a", "k", limit=100)
    # 5 newest failures + the success the current data came from (its inputs matter).
    assert len(kept) == 6 and kept[-1].id == good and kept[-1].inputs == {("up", "k"): "v"}
    assert latest(conn, "a", "k").success_id == good
    # Bulk writes prune the same way.
    for i in range(4):
        record_many(conn, "a", [Record("k", f"v{i}", "c")], keep=3)
    assert len(mz.history(conn, "a", "k", limit=100)) == 3
    assert conn.execute(
        "SELECT count(*) FROM materialization_inputs i LEFT JOIN materializations m "
        "ON m.id = i.materialization_id WHERE m.id IS NULL").fetchone()[0] == 0


def test_record_many_and_observe(conn) -> None:
    raw = source_asset("raw", docs)
    keys = [f"k{i}" for i in range(10_000)] + ["tab\tnew\nline\\", "😀"]
    registry.add_keys(conn, "docs", keys)
    assert len(observe(conn, raw, [(k, "v1") for k in keys])) == len(keys)
    assert observe(conn, raw, [(k, "v1") for k in keys]) == []  # nothing changed
    changed = observe(conn, raw, [(k, "v2" if k in ("k7", "😀") else "v1") for k in keys])
    assert sorted(changed) == ["k7", "😀"]
    assert latest(conn, raw, "tab\tnew\nline\\").data_version == "v1"

    clean = Asset("clean", docs, deps=[Dep(raw)], version="1")
    inputs = current_inputs(conn, clean, keys)
    assert inputs["k7"] == {("raw", "k7"): "v2"}
    recorded = record_many(conn, clean, [
        Record(k, f"c-{k}", inputs=inputs[k], metadata={"n": 1}) for k in keys])
    assert len(recorded) == len(keys)
    assert latest(conn, clean, "😀").code_version == clean.code_version
    assert mz.history(conn, clean, "k7")[0].inputs == {("raw", "k7"): "v2"}
    k1 = {("raw", "k1"): "v1"}
    with pytest.raises(ValueError, match="twice"):
        record_many(conn, clean, [Record("k1", "x", inputs=k1), Record("k1", "y", inputs=k1)])
    with pytest.raises(ValueError, match="needs a data_version"):
        record_many(conn, clean, [Record("k1", inputs=k1)])
    with pytest.raises(ValueError, match="finished runs"):
        record_many(conn, clean, [Record("k1", "x", inputs=k1, status="running")])
    assert latest(conn, clean, "k1").data_version == "c-k1"  # nothing of those was written
    # Tuple rows: (key, version, inputs, metadata).
    assert record_many(conn, clean, [("k1", "t", k1, {"m": 2})]) == ["k1"]
    [newest] = mz.history(conn, clean, "k1", limit=1)
    assert (newest.data_version, newest.inputs, newest.metadata) == ("t", k1, {"m": 2})


def test_current_inputs_records_missing_upstreams_and_watermarks(conn) -> None:
    raw = source_asset("raw", docs)
    ref = source_asset("ref", docs)
    clean = Asset("clean", docs, deps=[Dep(raw), Dep(ref, AllOf())])
    assert current_inputs(conn, clean, ["a"]) == {"a": {("raw", "a"): "", ("ref", ALL): "0"}}
    observe(conn, raw, [("a", "1")])
    observe(conn, ref, [("x", "1"), ("y", "1")])
    mark = mz.watermarks(conn, ["ref"])["ref"]
    assert current_inputs(conn, clean, ["a"]) == {
        "a": {("raw", "a"): "1", ("ref", ALL): str(mark)}}
    # A start() with an Asset takes code version and inputs from the declaration.
    mid = start(conn, clean, "a")
    assert mz.history(conn, clean, "a")[0].inputs == {("raw", "a"): "1", ("ref", ALL): str(mark)}
    succeed(conn, mid, "out")


def test_record_many_refuses_a_success_without_what_it_read(conn) -> None:
    raw = source_asset("raw", docs)
    ref = source_asset("ref", docs)
    side = source_asset("side", docs)
    clean = Asset("clean", docs, deps=[
        Dep(raw), Dep(ref, AllOf()), Dep(side, Custom(lambda k: [], name="none"))])
    full = {("raw", "k"): "1", ("ref", ALL): "0"}
    with pytest.raises(TypeError, match=r"clean\['k'\]: asset has upstream deps"):
        record_many(conn, clean, [Record("k", "v")])
    with pytest.raises(TypeError, match="inputs="):
        record_many(conn, clean, [("k", "v")])  # a tuple row without inputs, too
    with pytest.raises(ValueError, match=r"lacks upstream \['raw'\]"):
        record_many(conn, clean, [Record("k", "v", inputs={("ref", ALL): "0"})])
    with pytest.raises(ValueError, match=r"lacks upstream \['ref'\]"):
        record_many(conn, clean, [Record("k", "v", inputs={("raw", "k"): "1"})])
    with pytest.raises(ValueError, match=r"lacks upstream \['raw', 'ref'\]"):
        record_many(conn, clean, [Record("k", "v", inputs={})])
    # One bad row refuses the whole batch, before anything is written.
    with pytest.raises(TypeError):
        record_many(conn, clean, [Record("ok", "v", inputs=full), Record("k", "v")])
    assert latest(conn, clean, "ok") is None and latest(conn, clean, "k") is None
    assert conn.execute("SELECT count(*) FROM materializations").fetchone()[0] == 0

    # Accepted: every Identity/AllOf upstream present (a Custom mapping may read nothing);
    # a failure (it read nothing that stays current); a source asset; a name without deps.
    assert record_many(conn, clean, [Record("k", "v", inputs=full)]) == ["k"]
    assert record_many(conn, clean, [Record("bad", None, status="failed", error="x")]) == ["bad"]
    assert record_many(conn, raw, [Record("k", "1")]) == ["k"]
    assert record_many(conn, raw, [("k2", "1")]) == ["k2"]
    assert record_many(conn, "by_name", [Record("k", "1", "code")]) == ["k"]
    assert status(conn, clean, ["k", "bad"])[1].kinds == {ReasonKind.FAILED}


def test_changed_between_and_consumed_watermarks(conn) -> None:
    registry.add_keys(conn, "docs", ["a", "b", "c"])
    up = Asset("U", docs)
    consumer = Asset("C", StaticPartitions("one", ["all"]), deps=[Dep(up, AllOf())])
    record_many(conn, up, [Record("a", "1"), Record("b", "1"), Record("c", "1")])  # seq 1
    m1 = mz.watermarks(conn, ["U"])["U"]
    record_many(conn, consumer, [Record("all", "x", inputs={("U", ALL): str(m1)})])
    assert mz.consumed_watermarks(conn, "C", ["all", "nope"], "U") == {"all": m1}
    assert mz.consumed_watermarks(conn, "C", ["all"], "other") == {}
    record_many(conn, up, [Record("b", "2")])  # seq 2
    record_many(conn, up, [Record("c", "1")])  # seq 3 taken, data unchanged
    record_many(conn, up, [Record("a", "2")])  # seq 4
    m4 = mz.watermarks(conn, ["U"])["U"]
    assert m4 == 4
    assert mz.changed_between(conn, "U", m1, m4) == (["a", "b"], False)
    assert mz.changed_between(conn, "U", m1, 2) == (["b"], False)
    assert mz.changed_between(conn, "U", m4, m4) == ([], False)
    assert mz.changed_between(conn, "U", 0, m4) == (["a", "b", "c"], False)
    # A removal moves the watermark too, and the interval reports it.
    assert registry.delete_keys(conn, "docs", ["c"]) == 1
    m5 = mz.watermarks(conn, ["U"])["U"]
    assert m5 == 5
    assert mz.changed_between(conn, "U", m4, m5) == ([], True)
    assert mz.changed_between(conn, "U", m1, m5) == (["a", "b"], True)
    [row] = status(conn, consumer)
    assert row.kinds == {ReasonKind.ALL_OF_CHANGED}
    assert row.describe() == ("upstream U: 2 key(s) changed since this run ('b', 'a'); "
                              "keys were removed since this run")
    # The consumer re-runs at the new watermark: fresh.
    record_many(conn, consumer, [Record("all", "y", inputs={("U", ALL): str(m5)})])
    assert status(conn, consumer)[0].status == "materialized"
    assert mz.consumed_watermarks(conn, "C", ["all"], "U") == {"all": m5}


def _lock_waiter(conn, pid: int) -> bool:
    """Whether backend `pid` is waiting for a lock now."""
    return conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = %s AND NOT granted)", (pid,)
    ).fetchone()[0]


def test_change_numbers_follow_commit_order_not_insert_order(db: str, conn) -> None:
    """A consumer reading a watermark while an upstream write is uncommitted goes stale.

    Writer A records U['a'] and has not committed; writer B records U['b'] after it; a
    consumer of all of U reads U's watermark and records it as consumed; then A commits.

    If changed_seq followed insert order (the materialization id), nothing would make B
    wait: B takes a higher number than A (id 11 > 10) and commits first, the consumer reads
    watermark 11 and records it, and when A commits its change is numbered 10 — below the
    consumed 11. The watermark stays 11, the consumer looks fresh, and A's new data is never
    picked up. With the commit-ordered counter (`_next_seq` holds the asset's row lock until
    commit), B blocks on A, the consumer can only see the watermark from before both, and A
    and B take their numbers in commit order, both above what the consumer recorded.
    """
    registry.add_keys(conn, "docs", ["a", "b"])
    up = Asset("U", docs)
    consumer = Asset("C", StaticPartitions("one", ["all"]), deps=[Dep(up, AllOf())])
    record_many(conn, up, [Record("a", "1"), Record("b", "1")])
    before = mz.watermarks(conn, ["U"])["U"]

    errors: list[BaseException] = []
    with psycopg.connect(db, autocommit=True) as conn_a, \
            psycopg.connect(db, autocommit=True) as conn_b:
        # Nothing below may wait forever: a stuck lock fails the statement instead.
        for c in (conn_a, conn_b):
            c.execute("SET lock_timeout = '20s'")
            c.execute("SET statement_timeout = '30s'")
        pid_b = conn_b.info.backend_pid

        def writer_b() -> None:
            try:
                record_many(conn_b, up, [Record("b", "2")])
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                errors.append(exc)

        thread = threading.Thread(target=writer_b, name="writer-b", daemon=True)
        b_waited = False
        with conn_a.transaction():
            record_many(conn_a, up, [Record("a", "2")])  # inside A's open transaction
            thread.start()
            deadline = time.monotonic() + 10
            while thread.is_alive() and time.monotonic() < deadline:
                if _lock_waiter(conn, pid_b):
                    b_waited = True
                    break
                time.sleep(0.02)
            # The consumer runs now, while A is uncommitted (and B waiting behind it).
            mark = mz.watermarks(conn, ["U"])["U"]
            record_many(conn, consumer, [Record("all", "out", inputs={("U", ALL): str(mark)})])
            still_blocked = thread.is_alive()
        # A committed on leaving the block.
        thread.join(timeout=20)
        assert not thread.is_alive(), "writer B never finished"
    assert errors == []

    [row] = status(conn, consumer)
    assert row.status == "stale" and row.kinds == {ReasonKind.ALL_OF_CHANGED}, row
    assert mark == before  # neither change was visible to the consumer
    assert row.reasons[0].upstream == "U"
    assert "2 key(s) changed since this run" in row.describe()
    assert b_waited and still_blocked, "writer B did not wait for A's commit"
    seq_a, seq_b = latest(conn, up, "a").changed_seq, latest(conn, up, "b").changed_seq
    assert before < seq_a < seq_b  # numbered in commit order: A committed first
    assert mz.watermarks(conn, ["U"])["U"] == seq_b
    assert mz.changed_between(conn, "U", mark, seq_b) == (["a", "b"], False)
    assert (latest(conn, up, "a").data_version, latest(conn, up, "b").data_version) == ("2", "2")
