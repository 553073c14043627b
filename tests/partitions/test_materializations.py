"""Materialization records: lifecycle, latest state, inputs, retention, bulk writes."""

from __future__ import annotations

import pytest

from talentflow.partitions import (
    ALL,
    AllOf,
    Asset,
    Dep,
    DynamicPartitions,
    Record,
    current_inputs,
    fail,
    latest,
    observe,
    record_many,
    registry,
    source_asset,
    start,
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
    succeed(conn, mid, "d1", {"rows": 3})
    now = latest(conn, "clean", "k1")
    assert (now.status, now.success_id, now.data_version, now.code_version, now.changed_seq) == (
        "materialized", mid, "d1", "code-1", mid)
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


def test_changed_seq_moves_only_when_the_data_changes(conn) -> None:
    first = start(conn, "a", "k", "c", {})
    succeed(conn, first, "same")
    again = start(conn, "a", "k", "c", {})
    succeed(conn, again, "same")
    now = latest(conn, "a", "k")
    assert (now.success_id, now.changed_seq) == (again, first)
    third = start(conn, "a", "k", "c", {})
    succeed(conn, third, "different")
    assert latest(conn, "a", "k").changed_seq == third


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
    with pytest.raises(ValueError, match="twice"):
        record_many(conn, clean, [Record("k1", "x"), Record("k1", "y")])
    with pytest.raises(ValueError, match="needs a data_version"):
        record_many(conn, clean, [Record("k1")])


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
