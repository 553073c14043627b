"""Bulk status and staleness: code, identity upstreams, all-of upstreams, cross-joins."""

from __future__ import annotations

from talentflow.partitions import (
    AllOf,
    Asset,
    Dep,
    DimensionProjection,
    DynamicPartitions,
    MultiPartitions,
    Record,
    StaticPartitions,
    catalog,
    counts,
    current_inputs,
    fail,
    observe,
    plan,
    record_many,
    registry,
    source_asset,
    start,
    status,
    succeed,
)

items = DynamicPartitions("items")
refs = DynamicPartitions("refs")


def _materialize(conn, asset: Asset, keys: list[str], version: str = "out") -> None:
    inputs = current_inputs(conn, asset, keys)
    record_many(conn, asset, [Record(k, f"{version}:{k}", inputs=inputs[k]) for k in keys])


def _by_status(rows) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(r.status, []).append(r.key)
    return out


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
    _materialize(conn, a, keys)
    _materialize(conn, b, keys)
    assert counts(conn, b) == {"missing": 0, "running": 0, "materialized": 2000, "failed": 0,
                               "stale": 0}

    # One key of C changes among 500: every B key is stale, naming that C key.
    observe(conn, c, [("r0123", "2")])
    rows = status(conn, b)
    assert {r.status for r in rows} == {"stale"}
    assert rows[0].reasons == ("upstream C: 1 key(s) changed since this run ('r0123')",)
    _materialize(conn, b, keys)
    assert counts(conn, b)["materialized"] == 2000

    # A[k] changes: exactly B[k] is stale.
    _materialize(conn, a, ["k0042"], version="new")
    rows = status(conn, b)
    assert _by_status(rows)["stale"] == ["k0042"]
    stale = next(r for r in rows if r.key == "k0042")
    assert stale.reasons == ("upstream A['k0042'] changed: out:k0042 → new:k0042",)
    # Re-running A with the same output changes nothing downstream.
    _materialize(conn, a, ["k0001"])
    assert _by_status(status(conn, b))["stale"] == ["k0042"]

    # B's code changes: every key is stale with the code reason.
    b2 = Asset("B", items, deps=[Dep(a), Dep(c, AllOf())], version="2")
    rows = status(conn, b2)
    assert {r.status for r in rows} == {"stale"}
    assert rows[5].reasons[0].startswith(f"code changed: {b.code_version[:12]} → ")

    # Materializing again makes everything fresh.
    _materialize(conn, b2, keys)
    assert counts(conn, b2) == {"missing": 0, "running": 0, "materialized": 2000, "failed": 0,
                                "stale": 0}


def test_missing_running_failed_and_selection_order(conn) -> None:
    registry.add_keys(conn, "items", ["a", "b", "c", "d"])
    a = Asset("A", items)
    ok = start(conn, a, "a")
    succeed(conn, ok, "1")
    start(conn, a, "b")
    fail(conn, start(conn, a, "c"), "KeyError: 'title'")
    rows = status(conn, a, ["d", "c", "b", "a", "not-registered"])
    assert [(r.key, r.status) for r in rows] == [
        ("d", "missing"), ("c", "failed"), ("b", "running"), ("a", "materialized"),
        ("not-registered", "missing")]
    assert rows[1].reasons == ("failed: KeyError: 'title'",)
    p = plan(conn, a)
    assert (p.to_run, p.up_to_date, p.running) == (["c", "d"], ["a"], ["b"])
    assert p.reasons == {"c": ("failed: KeyError: 'title'",), "d": ("missing",)}


def test_upstream_failure_keeps_consumers_fresh_but_removal_does_not(conn) -> None:
    registry.add_keys(conn, "items", ["x", "y"])
    registry.add_keys(conn, "refs", ["r1", "r2"])
    registry.add_keys(conn, "outputs", ["x", "y"])
    a = Asset("A", items)
    c = Asset("C", refs)
    b = Asset("B", DynamicPartitions("outputs"), deps=[Dep(a), Dep(c, AllOf())])
    _materialize(conn, a, ["x", "y"])
    _materialize(conn, c, ["r1", "r2"])
    _materialize(conn, b, ["x", "y"])
    fail(conn, start(conn, a, "x"), "boom")  # A['x'] failed, its old data is still there
    assert counts(conn, b)["materialized"] == 2
    registry.delete_keys(conn, "items", ["y"])  # A['y'] is gone, B['y'] still exists
    assert [(r.key, r.status) for r in status(conn, b, ["y"])] == [("y", "stale")]
    assert status(conn, b, ["y"])[0].reasons == ("upstream A['y'] is missing",)
    registry.delete_keys(conn, "refs", ["r2"])  # one of C's keys is gone: all of B is stale
    assert status(conn, b, ["x"])[0].reasons == ("upstream C: keys were removed since this run",)


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
    _materialize(conn, left_vec, lefts)
    _materialize(conn, right_vec, rights)
    every = pairs.keys(conn)
    assert len(every) == 30_000
    _materialize(conn, matches, every)
    _materialize(conn, right_vec, ["R140"], version="edited")
    stale = _by_status(status(conn, matches))["stale"]
    assert sorted(stale) == sorted(pairs.key(left, "R140") for left in lefts)


def test_propagate_follows_stale_upstreams(conn) -> None:
    registry.add_keys(conn, "items", ["a", "b"])
    raw = source_asset("raw", items)
    clean = Asset("clean", items, deps=[Dep(raw)])
    summary = Asset("summary", StaticPartitions("all", ["total"]), deps=[Dep(clean, AllOf())])
    vec = Asset("vec", items, deps=[Dep(clean)])
    catalog.register(raw, clean, summary, vec)
    observe(conn, raw, [("a", "1"), ("b", "1")])
    _materialize(conn, clean, ["a", "b"])
    _materialize(conn, vec, ["a", "b"])
    _materialize(conn, summary, ["total"])
    observe(conn, raw, [("a", "2")])  # the row behind 'a' was edited
    assert _by_status(status(conn, clean)).get("stale") == ["a"]
    assert "stale" not in _by_status(status(conn, vec))  # one hop: clean['a'] not re-run yet
    [vec_a] = [r for r in status(conn, vec, propagate=True) if r.status == "stale"]
    assert (vec_a.key, vec_a.reasons) == ("a", ("upstream clean['a'] is stale",))
    [total] = status(conn, summary, propagate=True)
    assert total.reasons == ("upstream clean: 1 key(s) stale ('a')",)
    assert counts(conn, vec, propagate=True)["stale"] == 1


def test_status_all_computes_each_asset_once(conn) -> None:
    registry.add_keys(conn, "items", ["a"])
    raw = source_asset("raw", items)
    clean = Asset("clean", items, deps=[Dep(raw)])
    vec = Asset("vec", items, deps=[Dep(clean)])
    catalog.register(raw, clean, vec)
    observe(conn, raw, [("a", "1")])
    _materialize(conn, clean, ["a"])
    _materialize(conn, vec, ["a"])
    observe(conn, raw, [("a", "2")])
    from talentflow.partitions.status import status_all

    everything = status_all(conn)
    assert list(everything) == ["raw", "clean", "vec"]
    assert everything["vec"] == [("a", "stale", ("upstream clean['a'] is stale",))]
    assert status_all(conn, propagate=False)["vec"][0].status == "materialized"
