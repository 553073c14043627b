"""Status details no other test held, written after a mutation run (tests/README.md): claims
as reasons and `ignore_holder`, source assets and code versions, the wording of AllOf and
propagated reasons at their thresholds, unresolved and windowed dependencies when
propagating, and paging through a set that is not in the registry."""

from __future__ import annotations

import pytest

from talentflow.partitions import (
    AllOf,
    Asset,
    Dep,
    DynamicPartitions,
    Reason,
    ReasonKind,
    Record,
    StaticPartitions,
    TimeWindowOffset,
    TimeWindowPartitions,
    claims,
    counts,
    observe,
    record_many,
    registry,
    source_asset,
    status,
)
from talentflow.partitions.status import page
from tests.support.records import materialize_keys

items = DynamicPartitions("items")
refs = DynamicPartitions("refs")


def test_a_claim_is_running_with_its_run_and_ignore_holder_looks_past_it(conn) -> None:
    registry.add_keys(conn, "items", ["a", "b", "c"])
    a = Asset("A", items)
    materialize_keys(conn, a, ["a"])
    claims.claim(conn, "A", ["a", "b"], holder="h1", flow_run_id="run-1", lease_s=3600)
    claims.claim(conn, "A", ["c"], holder="h2", flow_run_id=None, lease_s=3600)
    rows = status(conn, a, ["a", "b", "c"])
    assert rows[0] == rows[0]._replace(key="a", status="running")
    assert [(r.key, r.status, r.reasons) for r in rows] == [
        ("a", "running", (Reason(ReasonKind.CLAIMED, "running: claimed by run run-1"),)),
        ("b", "running", (Reason(ReasonKind.CLAIMED, "running: claimed by run run-1"),)),
        ("c", "running", ()),  # a holder without a flow run: running, no run to name
    ]
    # As the holder itself sees it (re-planning under its own claims): what was recorded.
    mine = status(conn, a, ["a", "b", "c"], ignore_holder="h1")
    assert [(r.key, r.status) for r in mine] == [("a", "materialized"), ("b", "missing"),
                                                 ("c", "running")]
    # A lease that ran out: the run died.
    conn.execute("UPDATE partition_claims SET heartbeat_at = now() - interval '2 hours'")
    rows = status(conn, a, ["a", "c"])
    assert [tuple(r) for r in rows] == [
        ("a", "failed",
         (Reason(ReasonKind.LEASE_EXPIRED, "failed: run run-1 died (lease expired)"),)),
        ("c", "failed",
         (Reason(ReasonKind.LEASE_EXPIRED, "failed: run ? died (lease expired)"),)),
    ]


def test_a_source_asset_never_goes_stale_for_code(conn) -> None:
    registry.add_keys(conn, "items", ["a"])
    observe(conn, source_asset("S", items), [("a", "1")])
    changed = Asset("S", items, source=True, version="another")
    assert status(conn, changed)[0].status == "materialized"
    # An ordinary asset with another code version is stale.
    materialize_keys(conn, Asset("B", items, version="1"), ["a"])
    [row] = status(conn, Asset("B", items, version="2"))
    assert (row.key, row.status, row.kinds) == ("a", "stale", {ReasonKind.CODE_CHANGED})


def _all_of_reason(conn, n_changed: int) -> str:
    c = source_asset("C", refs)
    b = Asset("B", items, deps=[Dep(c, AllOf())])
    ref_keys = [f"r{i:04d}" for i in range(n_changed)]
    registry.add_keys(conn, "refs", ref_keys)
    registry.add_keys(conn, "items", ["k"])
    observe(conn, c, [(k, "1") for k in ref_keys])
    materialize_keys(conn, b, ["k"])
    observe(conn, c, [(k, "2") for k in ref_keys])
    [row] = status(conn, b)
    assert row.kinds == {ReasonKind.ALL_OF_CHANGED}
    return row.describe()


def test_all_of_reason_counts_up_to_a_thousand(conn) -> None:
    assert _all_of_reason(conn, 1000) == (
        "upstream C: 1000 key(s) changed since this run ('r0000', 'r0001', 'r0002', …)")


def test_all_of_reason_says_more_than_a_thousand(conn) -> None:
    assert _all_of_reason(conn, 1001) == (
        "upstream C: 1000+ key(s) changed since this run ('r0000', 'r0001', 'r0002', …)")


def test_all_of_reason_lists_three_keys_without_an_ellipsis(conn) -> None:
    assert _all_of_reason(conn, 3) == (
        "upstream C: 3 key(s) changed since this run ('r0000', 'r0001', 'r0002')")


def _all_of_of_two_refs(conn) -> tuple[Asset, Asset]:
    """Source C over refs r1, r2; B['k'] materialized reading all of C."""
    c = source_asset("C", refs)
    b = Asset("B", items, deps=[Dep(c, AllOf())])
    registry.add_keys(conn, "refs", ["r1", "r2"])
    registry.add_keys(conn, "items", ["k"])
    observe(conn, c, [("r1", "1"), ("r2", "1")])
    materialize_keys(conn, b, ["k"])
    return c, b


def test_all_of_reason_says_when_keys_were_removed(conn) -> None:
    c, b = _all_of_of_two_refs(conn)
    registry.delete_keys(conn, "refs", ["r2"])
    [row] = status(conn, b)
    assert row.reasons == (Reason(ReasonKind.ALL_OF_CHANGED,
                                  "upstream C: keys were removed since this run", "C"),)


def _propagated_reason(conn, n_stale: int) -> str:
    raw = source_asset("raw", items)
    a = Asset("A", items, deps=[raw])
    total = Asset("T", StaticPartitions("totals", ["t"]), deps=[Dep(a, AllOf())])
    keys = [f"k{i}" for i in range(5)]
    registry.add_keys(conn, "items", keys)
    observe(conn, raw, [(k, "1") for k in keys])
    materialize_keys(conn, a, keys)
    materialize_keys(conn, total, ["t"])
    observe(conn, raw, [(k, "2") for k in keys[:n_stale]])
    [row] = status(conn, total, propagate=True)
    assert row.status == "stale" and row.kinds == {ReasonKind.UPSTREAM_STALE}
    return row.describe()


def test_propagated_reason_shows_three_keys(conn) -> None:
    assert _propagated_reason(conn, 3) == "upstream A: 3 key(s) stale ('k0', 'k1', 'k2')"


def test_propagated_reason_elides_past_three(conn) -> None:
    assert _propagated_reason(conn, 4) == "upstream A: 4 key(s) stale ('k0', 'k1', 'k2', …)"


def test_propagating_skips_sources_and_unresolved_deps_and_goes_on(conn) -> None:
    """A source upstream (never stale) and a dependency named but not resolved come before
    a real upstream: the real one is still followed."""
    raw = source_asset("raw", items)
    a = Asset("A", items, deps=[raw])
    b = Asset("B", items, deps=[raw, Dep("elsewhere"), a])
    registry.add_keys(conn, "items", ["x", "y"])
    observe(conn, raw, [("x", "1"), ("y", "1")])
    materialize_keys(conn, a, ["x", "y"])
    # What B read: raw and A, and nothing of the unknown upstream (read while missing).
    record_many(conn, b, [Record(k, f"b{k}", inputs={("raw", k): "1", ("A", k): f"out:{k}",
                                                     ("elsewhere", k): None})
                          for k in ("x", "y")])
    assert {r.status for r in status(conn, b, propagate=True)} == {"materialized"}
    observe(conn, raw, [("x", "2")])  # A['x'] stale; B['x'] stale itself (reads raw['x'])
    rows = {r.key: r for r in status(conn, b, propagate=True)}
    assert rows["y"].status == "materialized"
    assert [r.kind for r in rows["x"].reasons] == [ReasonKind.INPUT_CHANGED,
                                                   ReasonKind.UPSTREAM_STALE]
    assert rows["x"].reasons[1] == Reason(ReasonKind.UPSTREAM_STALE,
                                          "upstream A['x'] is stale", "A")


def test_propagating_through_a_window_offset(conn) -> None:
    days = TimeWindowPartitions.daily("days", "2026-03-01", end="2026-03-05")
    raw = source_asset("raw_days", days)
    a = Asset("A_days", days, deps=[raw])
    b = Asset("B_days", days, deps=[Dep(a, TimeWindowOffset(-1))])
    keys = days.keys(conn)
    observe(conn, raw, [(k, "1") for k in keys])
    materialize_keys(conn, a, keys)
    materialize_keys(conn, b, keys[1:])
    observe(conn, raw, [("2026-03-02", "2")])
    stale = [(r.key, r.describe()) for r in status(conn, b, keys[1:], propagate=True)
             if r.status == "stale"]
    assert stale == [("2026-03-03", "upstream A_days['2026-03-02'] is stale")]


def test_counts_of_some_keys_with_propagation(conn) -> None:
    raw = source_asset("raw", items)
    a = Asset("A", items, deps=[raw])
    b = Asset("B", items, deps=[a])
    registry.add_keys(conn, "items", ["x", "y", "z"])
    observe(conn, raw, [(k, "1") for k in "xyz"])
    materialize_keys(conn, a, list("xyz"))
    materialize_keys(conn, b, list("xyz"))
    observe(conn, raw, [("x", "2"), ("y", "2")])
    assert counts(conn, b, ["x", "z"], propagate=True) == {
        "missing": 0, "running": 0, "materialized": 1, "failed": 0, "stale": 1}
    assert counts(conn, b, ["x", "z"]) == {
        "missing": 0, "running": 0, "materialized": 2, "failed": 0, "stale": 0}


def test_paging_a_static_set_in_its_own_order(conn) -> None:
    keys = [f"s{i:04d}" for i in range(1001)][::-1]  # declared order is not byte order
    a = Asset("A", StaticPartitions("many", keys))
    materialize_keys(conn, a, keys[:3])
    assert [r.key for r in page(conn, a, limit=2)] == keys[:2]
    assert [r.key for r in page(conn, a, after=keys[0], limit=2)] == keys[1:3]
    assert [r.key for r in page(conn, a, after=keys[1], limit=3)] == keys[2:5]
    assert [(r.key, r.status) for r in page(conn, a, states=["missing"], limit=1)] == \
        [(keys[3], "missing")]
    assert len(page(conn, a)) == 1000  # the default page
    assert page(conn, a, after=keys[-1]) == []
    with pytest.raises(ValueError, match=r"after='nope' is not a key of 'many'"):
        page(conn, a, after="nope")


def test_a_failure_without_a_message_and_blocking_checks(conn) -> None:
    from talentflow.engine import checks as checking
    from talentflow.partitions import fail, start

    registry.add_keys(conn, "items", ["a", "b", "c"])
    a = Asset("A", items)
    fail(conn, start(conn, a, "a"), "")
    materialize_keys(conn, a, ["b", "c"])
    assert tuple(status(conn, a, ["a"])[0]) == ("a", "failed",
                                                (Reason(ReasonKind.FAILED, "failed"),))
    # Two blocking checks fail on b's current data, one warns on c: b is failed, naming both.
    mids = dict(conn.execute("SELECT partition_key, success_id FROM partition_latest "
                             "WHERE asset = 'A'").fetchall())
    for name, blocking, key in (("z_check", True, "b"), ("a_check", True, "b"),
                                ("warn_only", False, "c")):
        check = checking.AssetCheck(name, a, lambda value: False, blocking=blocking)
        result = checking.Evaluation(name, key, checking.CheckOutcome.FAILED,
                                     checking.Severity.ERROR if blocking
                                     else checking.Severity.WARN, blocks=blocking)
        checking.record(conn, check, {key: result}, {key: (mids[key], f"out:{key}")}, None)
    a.blocking_checks = ("a_check", "z_check")
    rows = status(conn, a, ["b", "c"])
    assert [tuple(r) for r in rows] == [
        ("b", "failed", (Reason(ReasonKind.CHECK_FAILED, "check failed: a_check, z_check"),)),
        ("c", "materialized", ()),
    ]


def test_propagating_past_an_upstream_with_nothing_stale(conn) -> None:
    raw = source_asset("raw", items)
    calm, moved = Asset("Calm", items), Asset("Moved", items, deps=[raw])
    b = Asset("B", items, deps=[calm, moved])
    registry.add_keys(conn, "items", ["x"])
    observe(conn, raw, [("x", "1")])
    materialize_keys(conn, calm, ["x"])
    materialize_keys(conn, moved, ["x"])
    materialize_keys(conn, b, ["x"])
    observe(conn, raw, [("x", "2")])
    [row] = status(conn, b, propagate=True)
    assert tuple(row) == ("x", "stale", (Reason(ReasonKind.UPSTREAM_STALE,
                                                "upstream Moved['x'] is stale", "Moved"),))


def test_all_of_reason_with_changed_and_removed_keys(conn) -> None:
    c, b = _all_of_of_two_refs(conn)
    observe(conn, c, [("r1", "2")])
    registry.delete_keys(conn, "refs", ["r2"])
    [row] = status(conn, b)
    assert row.describe() == ("upstream C: 1 key(s) changed since this run ('r1'); "
                              "keys were removed since this run")
