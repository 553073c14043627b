"""Bulk status and staleness: code, identity upstreams, all-of upstreams, cross-joins."""

from __future__ import annotations

import importlib

import pytest

from talentflow.engine.definitions import Definitions
from talentflow.partitions import (
    AllOf,
    Asset,
    Dep,
    DimensionProjection,
    DynamicPartitions,
    KeyStatus,
    MultiPartitions,
    Reason,
    ReasonKind,
    StaticPartitions,
    counts,
    fail,
    observe,
    registry,
    source_asset,
    start,
    status,
    status_all,
    succeed,
)
from tests.support.records import materialize_keys

items = DynamicPartitions("items")
refs = DynamicPartitions("refs")


def _by_status(rows) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(r.status, []).append(r.key)
    return out


def _texts(row: KeyStatus) -> list[str]:
    return [str(r) for r in row.reasons]


def test_reasons_are_typed() -> None:
    reason = Reason(ReasonKind.INPUT_CHANGED, "upstream A['k'] changed: 1 → 2", "A")
    assert str(reason) == reason.text and reason.upstream == "A"
    assert Reason(ReasonKind.FAILED, "failed").upstream is None
    row = KeyStatus("k", "stale", (reason, Reason(ReasonKind.CODE_CHANGED, "code changed")))
    assert row.kinds == {ReasonKind.INPUT_CHANGED, ReasonKind.CODE_CHANGED}
    assert row.describe() == "upstream A['k'] changed: 1 → 2; code changed"
    assert KeyStatus("k", "missing").describe() == "missing"
    assert KeyStatus("k", "missing").kinds == frozenset()
    assert ReasonKind.ALL_OF_CHANGED == "all_of_changed"  # a StrEnum: stable in JSON


def test_identity_all_of_and_code_staleness(conn) -> None:
    """B depends on A (Identity) and on C (AllOf)."""
    keys = [f"k{i:04d}" for i in range(2000)]
    ref_keys = [f"r{i:04d}" for i in range(500)]
    registry.add_keys(conn, "items", keys)
    registry.add_keys(conn, "refs", ref_keys)
    a = Asset("A", items, version="1")
    c = source_asset("C", refs)
    b = Asset("B", items, deps=[Dep(a), Dep(c, AllOf())], version="1")
    observe(conn, c, [(k, "1") for k in ref_keys])
    materialize_keys(conn, a, keys)
    materialize_keys(conn, b, keys)
    assert counts(conn, b) == {"missing": 0, "running": 0, "materialized": 2000, "failed": 0,
                               "stale": 0}
    assert all(r.reasons == () for r in status(conn, b))

    # One key of C changes among 500: every B key is stale, naming that C key.
    observe(conn, c, [("r0123", "2")])
    rows = status(conn, b)
    assert {r.status for r in rows} == {"stale"}
    assert rows[0].reasons == (Reason(
        ReasonKind.ALL_OF_CHANGED, "upstream C: 1 key(s) changed since this run ('r0123')",
        "C"),)
    assert {r.kinds for r in rows} == {frozenset({ReasonKind.ALL_OF_CHANGED})}
    assert counts(conn, b)["stale"] == 2000
    materialize_keys(conn, b, keys)
    assert counts(conn, b)["materialized"] == 2000

    # Four keys of C change: the count, the first three in change order, and an ellipsis.
    for ref in ("r0003", "r0001", "r0002", "r0004"):
        observe(conn, c, [(ref, "2")])
    assert _texts(status(conn, b, ["k0000"])[0]) == [
        "upstream C: 4 key(s) changed since this run ('r0003', 'r0001', 'r0002', …)"]
    materialize_keys(conn, b, keys)

    # A[k] changes: exactly B[k] is stale.
    materialize_keys(conn, a, ["k0042"], version="new")
    rows = status(conn, b)
    assert _by_status(rows)["stale"] == ["k0042"]
    stale = next(r for r in rows if r.key == "k0042")
    assert stale.reasons == (Reason(
        ReasonKind.INPUT_CHANGED, "upstream A['k0042'] changed: out:k0042 → new:k0042", "A"),)
    # Re-running A with the same output changes nothing downstream.
    materialize_keys(conn, a, ["k0001"])
    assert _by_status(status(conn, b))["stale"] == ["k0042"]

    # B's code changes: every key is stale with the code reason.
    b2 = Asset("B", items, deps=[Dep(a), Dep(c, AllOf())], version="2")
    rows = status(conn, b2)
    assert {r.status for r in rows} == {"stale"}
    assert rows[5].reasons[0].kind is ReasonKind.CODE_CHANGED
    assert rows[5].reasons[0].upstream is None
    assert rows[5].reasons[0].text == (
        f"code changed: {b.code_version[:12]} → {b2.code_version[:12]}")
    # Both reasons at once, code first: B['k0042'] has new code and a changed input.
    k42 = status(conn, b2, ["k0042"])[0]
    assert [r.kind for r in k42.reasons] == [ReasonKind.CODE_CHANGED, ReasonKind.INPUT_CHANGED]
    assert k42.describe() == "; ".join(_texts(k42))

    # Materializing again makes everything fresh.
    materialize_keys(conn, b2, keys)
    assert counts(conn, b2) == {"missing": 0, "running": 0, "materialized": 2000, "failed": 0,
                                "stale": 0}


def test_missing_running_failed_and_selection_order(conn) -> None:
    registry.add_keys(conn, "items", ["a", "b", "c", "d"])
    a = Asset("A", items)
    ok = start(conn, a, "a")
    succeed(conn, ok, "1")
    start(conn, a, "b")
    fail(conn, start(conn, a, "c"), "KeyError: 'title'")
    rows = status(conn, a, ["d", "c", "b", "a", "not-registered", "d"])
    # In selection order; a key selected twice has one status.
    assert [(r.key, r.status) for r in rows] == [
        ("d", "missing"), ("c", "failed"), ("b", "running"), ("a", "materialized"),
        ("not-registered", "missing")]
    assert rows[1].reasons == (Reason(ReasonKind.FAILED, "failed: KeyError: 'title'"),)
    assert rows[1].describe() == "failed: KeyError: 'title'"
    assert [r.reasons for r in rows if r.key != "c"] == [()] * 4
    assert rows[0].describe() == "missing" and rows[2].describe() == "running"
    # What needs work (what a planner runs) and what is in flight, from one bulk call.
    assert counts(conn, a) == {"missing": 1, "running": 1, "materialized": 1, "failed": 1,
                               "stale": 0}
    assert counts(conn, a, ["a", "c", "zzz"]) == {
        "missing": 1, "running": 0, "materialized": 1, "failed": 1, "stale": 0}
    needs_work = [r.key for r in status(conn, a) if r.status in ("missing", "stale", "failed")]
    assert needs_work == ["c", "d"]
    # A failure keeps the previous data: a materialized key whose re-run fails is failed.
    fail(conn, start(conn, a, "a"), "boom")
    assert status(conn, a, ["a"])[0].reasons == (Reason(ReasonKind.FAILED, "failed: boom"),)


def test_upstream_failure_keeps_consumers_fresh_but_removal_does_not(conn) -> None:
    registry.add_keys(conn, "items", ["x", "y"])
    registry.add_keys(conn, "refs", ["r1", "r2"])
    registry.add_keys(conn, "outputs", ["x", "y"])
    a = Asset("A", items)
    c = Asset("C", refs)
    b = Asset("B", DynamicPartitions("outputs"), deps=[Dep(a), Dep(c, AllOf())])
    materialize_keys(conn, a, ["x", "y"])
    materialize_keys(conn, c, ["r1", "r2"])
    materialize_keys(conn, b, ["x", "y"])
    fail(conn, start(conn, a, "x"), "boom")  # A['x'] failed, its old data is still there
    assert counts(conn, b)["materialized"] == 2
    registry.delete_keys(conn, "items", ["y"])  # A['y'] is gone, B['y'] still exists
    assert [(r.key, r.status) for r in status(conn, b, ["y"])] == [("y", "stale")]
    assert status(conn, b, ["y"])[0].reasons == (
        Reason(ReasonKind.INPUT_MISSING, "upstream A['y'] is missing", "A"),)
    assert status(conn, b, ["x"])[0].status == "materialized"
    registry.delete_keys(conn, "refs", ["r2"])  # one of C's keys is gone: all of B is stale
    assert status(conn, b, ["x"])[0].reasons == (Reason(
        ReasonKind.ALL_OF_CHANGED, "upstream C: keys were removed since this run", "C"),)


def test_an_input_read_while_missing_goes_stale_when_it_appears(conn) -> None:
    registry.add_keys(conn, "items", ["k"])
    a = Asset("A", items)
    b = Asset("B", items, deps=[Dep(a)])
    materialize_keys(conn, b, ["k"])  # A['k'] does not exist yet: recorded as read-missing
    assert status(conn, b)[0].status == "materialized"  # still missing: nothing changed
    materialize_keys(conn, a, ["k"])
    [row] = status(conn, b)
    assert (row.status, row.kinds) == ("stale", {ReasonKind.INPUT_APPEARED})
    assert row.reasons[0].upstream == "A"
    assert row.describe() == "upstream A['k'] appeared (was missing when read)"


def test_cross_join_exactly_the_dependent_matches_go_stale(conn) -> None:
    """matches(left, right) reads left_vectors[left] and right_vectors[right]."""
    lefts = [f"L{i}" for i in range(200)]
    rights = [f"R{i}" for i in range(150)]
    registry.add_keys(conn, "lefts", lefts)
    registry.add_keys(conn, "rights", rights)
    left_vec = Asset("left_vectors", DynamicPartitions("lefts"))
    right_vec = Asset("right_vectors", DynamicPartitions("rights"))
    pairs = MultiPartitions({"left": left_vec.partitions, "right": right_vec.partitions})
    matches = Asset("matches", pairs, deps=[Dep(left_vec, DimensionProjection("left")),
                                            Dep(right_vec, DimensionProjection("right"))])
    materialize_keys(conn, left_vec, lefts)
    materialize_keys(conn, right_vec, rights)
    every = pairs.keys(conn)
    assert len(every) == 30_000
    materialize_keys(conn, matches, every)
    materialize_keys(conn, right_vec, ["R140"], version="edited")
    rows = status(conn, matches)
    stale = _by_status(rows)["stale"]
    assert sorted(stale) == sorted(pairs.key(left, "R140") for left in lefts)
    assert {r.kinds for r in rows if r.status == "stale"} == {
        frozenset({ReasonKind.INPUT_CHANGED})}
    assert {r.reasons[0].upstream for r in rows if r.status == "stale"} == {"right_vectors"}


def _pipeline() -> Definitions:
    """raw (source) → clean → vec (Identity), clean → summary (AllOf), by name only."""
    raw = source_asset("raw", items)
    clean = Asset("clean", items, deps=[Dep("raw")])
    summary = Asset("summary", StaticPartitions("all", ["total"]), deps=[Dep("clean", AllOf())])
    vec = Asset("vec", items, deps=["clean"])
    return Definitions(assets=[vec, summary, clean, raw])


def test_propagate_follows_stale_upstreams(conn) -> None:
    registry.add_keys(conn, "items", ["a", "b"])
    defs = _pipeline()
    raw, clean, summary, vec = (defs.get(n) for n in ("raw", "clean", "summary", "vec"))
    observe(conn, raw, [("a", "1"), ("b", "1")])
    materialize_keys(conn, clean, ["a", "b"])
    materialize_keys(conn, vec, ["a", "b"])
    materialize_keys(conn, summary, ["total"])
    observe(conn, raw, [("a", "2")])  # the row behind 'a' was edited
    assert _by_status(status(conn, clean)).get("stale") == ["a"]
    assert status(conn, clean, ["a"])[0].reasons == (
        Reason(ReasonKind.INPUT_CHANGED, "upstream raw['a'] changed: 1 → 2", "raw"),)
    assert "stale" not in _by_status(status(conn, vec))  # one hop: clean['a'] not re-run yet
    [vec_a] = [r for r in status(conn, vec, propagate=True) if r.status == "stale"]
    assert (vec_a.key, vec_a.reasons) == ("a", (Reason(
        ReasonKind.UPSTREAM_STALE, "upstream clean['a'] is stale", "clean"),))
    [total] = status(conn, summary, propagate=True)
    assert total.reasons == (Reason(
        ReasonKind.UPSTREAM_STALE, "upstream clean: 1 key(s) stale ('a')", "clean"),)
    assert counts(conn, vec, propagate=True)["stale"] == 1
    assert counts(conn, vec)["stale"] == 0
    # A key already stale itself gets the upstream reason added after its own.
    materialize_keys(conn, vec, ["a"], version="v2")  # clean['a'] unchanged: vec['a'] fresh
    observe(conn, raw, [("a", "3")])
    materialize_keys(conn, clean, ["b"], version="changed")  # vec['b'] stale itself
    observe(conn, raw, [("b", "2")])  # ... and clean['b'] stale too
    [vec_b] = [r for r in status(conn, vec, ["b"], propagate=True)]
    assert [r.kind for r in vec_b.reasons] == [ReasonKind.INPUT_CHANGED,
                                               ReasonKind.UPSTREAM_STALE]


def test_status_all_computes_each_asset_once(conn, monkeypatch: pytest.MonkeyPatch) -> None:
    # The module, not the function `talentflow.partitions.status` re-exports.
    status_module = importlib.import_module("talentflow.partitions.status")
    registry.add_keys(conn, "items", ["a"])
    defs = _pipeline()
    raw, clean, vec = (defs.get(n) for n in ("raw", "clean", "vec"))
    observe(conn, raw, [("a", "1")])
    materialize_keys(conn, clean, ["a"])
    materialize_keys(conn, vec, ["a"])
    materialize_keys(conn, defs.get("summary"), ["total"])
    observe(conn, raw, [("a", "2")])

    calls: list[tuple[str, bool]] = []
    direct = status_module._direct

    def counting(conn, asset, keys):
        calls.append((asset.name, keys is None))
        return direct(conn, asset, keys)

    monkeypatch.setattr(status_module, "_direct", counting)
    everything = status_all(conn, defs.assets)
    assert list(everything) == ["raw", "clean", "summary", "vec"]
    # Every asset's whole status is computed once and reused by its readers (summary reads
    # all of clean: no second full pass over clean).
    assert sorted(name for name, whole in calls if whole) == ["clean", "raw", "summary", "vec"]
    assert everything["vec"] == [KeyStatus("a", "stale", (Reason(
        ReasonKind.UPSTREAM_STALE, "upstream clean['a'] is stale", "clean"),))]
    assert everything["summary"][0].kinds == {ReasonKind.UPSTREAM_STALE}
    assert [r.status for r in everything["raw"]] == ["materialized"]  # sources never stale
    one_hop = status_all(conn, defs.assets, propagate=False)
    assert one_hop["vec"][0].status == "materialized"
    assert one_hop["clean"][0].kinds == {ReasonKind.INPUT_CHANGED}
    # Only the assets passed are computed.
    assert list(status_all(conn, [vec], propagate=False)) == ["vec"]
