"""Claims: leases on (asset, key) held by live runs — `running`, takeover of dead runs."""

from __future__ import annotations

import psycopg
import pytest

from talentflow.partitions import (
    Asset,
    DynamicPartitions,
    Reason,
    ReasonKind,
    Record,
    claims,
    counts,
    record_many,
    registry,
    status,
)

items = DynamicPartitions("items")
A = Asset("A", items)


def _states(conn, keys: list[str]) -> list[tuple[str, str]]:
    return [(r.key, r.status) for r in status(conn, A, keys)]


def _kill(conn, holder: str) -> None:
    """The holder stopped heartbeating long ago: its leases are past their end."""
    conn.execute("UPDATE partition_claims SET heartbeat_at = now() - interval '1 hour' "
                 "WHERE holder = %s", (holder,))


def _claims(conn) -> list[tuple[str, str, str, str | None]]:
    return [tuple(r) for r in conn.execute(
        "SELECT asset, partition_key, holder, flow_run_id FROM partition_claims "
        "ORDER BY asset, partition_key").fetchall()]


@pytest.fixture
def keys(conn) -> list[str]:
    registry.add_keys(conn, "items", ["k1", "k2", "k3", "k4"])
    return ["k1", "k2", "k3", "k4"]


def test_a_live_claim_is_running_and_cannot_be_taken(conn, keys) -> None:
    record_many(conn, A, [Record("k3", "v1")])  # materialized before it is claimed again
    got = claims.claim(conn, "A", ["k2", "k1", "k3", "k1"], holder="h1",
                       flow_run_id="run-1", lease_s=60)
    assert (got.claimed, got.held, got.taken_over) == (["k2", "k1", "k3"], {}, {})
    # A live claim overrides the recorded state: missing or materialized, it is running.
    rows = status(conn, A)
    assert [(r.key, r.status) for r in rows] == [
        ("k1", "running"), ("k2", "running"), ("k3", "running"), ("k4", "missing")]
    running = [r for r in rows if r.status == "running"]
    assert all(r.kinds == {ReasonKind.CLAIMED} and r.describe() == "running: claimed by run "
               "run-1" for r in running)
    assert [r.reasons for r in rows if r.status == "missing"] == [()]
    assert counts(conn, A) == {"missing": 1, "running": 3, "materialized": 0, "failed": 0,
                               "stale": 0}
    assert counts(conn, A, ["k3", "k4"]) == {"missing": 1, "running": 1, "materialized": 0,
                                             "failed": 0, "stale": 0}
    assert claims.expired(conn) == []

    # Another run gets only what nobody holds, and learns who holds the rest.
    other = claims.claim(conn, "A", ["k1", "k4", "k3"], holder="h2", flow_run_id="run-2")
    assert other.claimed == ["k4"]
    assert other.held == {"k1": "run-1", "k3": "run-1"}
    assert other.taken_over == {}
    assert _claims(conn) == [("A", "k1", "h1", "run-1"), ("A", "k2", "h1", "run-1"),
                             ("A", "k3", "h1", "run-1"), ("A", "k4", "h2", "run-2")]
    # Claims are per asset: the same key of another asset is free.
    assert claims.claim(conn, "B", ["k1"], holder="h2", flow_run_id="run-2").claimed == ["k1"]
    # The holder itself may claim again (a retry in the same run): still its own.
    again = claims.claim(conn, "A", ["k1"], holder="h1", flow_run_id="run-1")
    assert (again.claimed, again.held, again.taken_over) == (["k1"], {}, {})
    # A holder without a flow run id is reported by its holder id.
    claims.claim(conn, "A", ["zz"], holder="local:abc", flow_run_id=None)
    assert claims.claim(conn, "A", ["zz"], holder="h3", flow_run_id="run-3").held == {
        "zz": "local:abc"}
    assert claims.claim(conn, "A", [], holder="h3", flow_run_id="run-3") == claims.Claimed()


def test_the_lease_length_is_each_claims_own(conn, keys) -> None:
    claims.claim(conn, "A", ["k1"], holder="short", flow_run_id="run-s", lease_s=1)
    claims.claim(conn, "A", ["k2"], holder="long", flow_run_id="run-l", lease_s=60)
    # Two seconds without a heartbeat: past a 1 s lease, well within a 60 s one.
    conn.execute("UPDATE partition_claims SET heartbeat_at = now() - interval '2 seconds'")
    assert _states(conn, ["k1", "k2"]) == [("k1", "failed"), ("k2", "running")]
    assert claims.expired(conn) == [("A", "k1", "run-s")]
    got = claims.claim(conn, "A", ["k1", "k2"], holder="new", flow_run_id="run-n")
    assert (got.claimed, got.held, got.taken_over) == (["k1"], {"k2": "run-l"},
                                                       {"k1": "run-s"})


def test_an_expired_lease_is_a_dead_run_and_is_taken_over(conn, keys) -> None:
    record_many(conn, A, [Record("k2", "v1")])
    claims.claim(conn, "A", ["k1", "k2"], holder="h1", flow_run_id="run-1", lease_s=1)
    assert _states(conn, ["k1", "k2"]) == [("k1", "running"), ("k2", "running")]
    _kill(conn, "h1")

    # Status: failed, because the run died — whatever was recorded before.
    rows = status(conn, A, ["k1", "k2", "k3"])
    assert [(r.key, r.status) for r in rows] == [
        ("k1", "failed"), ("k2", "failed"), ("k3", "missing")]
    for r in rows[:2]:
        assert r.reasons == (Reason(ReasonKind.LEASE_EXPIRED,
                                    "failed: run run-1 died (lease expired)"),)
        assert r.kinds == {ReasonKind.LEASE_EXPIRED}
    assert counts(conn, A) == {"missing": 2, "running": 0, "materialized": 0, "failed": 2,
                               "stale": 0}
    assert claims.expired(conn) == [("A", "k1", "run-1"), ("A", "k2", "run-1")]

    # A new run takes the keys over and learns which run died.
    got = claims.claim(conn, "A", ["k1", "k2", "k3"], holder="h2", flow_run_id="run-2")
    assert got.claimed == ["k1", "k2", "k3"]
    assert got.taken_over == {"k1": "run-1", "k2": "run-1"}
    assert got.held == {}
    assert _states(conn, ["k1", "k2", "k3"]) == [
        ("k1", "running"), ("k2", "running"), ("k3", "running")]
    assert claims.expired(conn) == []
    assert {h for _, _, h, _ in _claims(conn)} == {"h2"}
    # The dead holder cannot release what was taken from it.
    with conn.transaction():
        assert claims.release(conn, "A", ["k1", "k2"], "h1") == 0
    assert len(_claims(conn)) == 3

    # A dead run without a flow run id is named by its holder.
    claims.claim(conn, "A", ["k4"], holder="local:1", flow_run_id=None)
    _kill(conn, "local:1")
    assert status(conn, A, ["k4"])[0].describe() == "failed: run ? died (lease expired)"
    assert claims.expired(conn) == [("A", "k4", None)]
    assert claims.claim(conn, "A", ["k4"], holder="h2", flow_run_id="run-2").taken_over == {
        "k4": "local:1"}


def test_release_heartbeat_and_release_all(db: str, conn, keys) -> None:
    claims.claim(conn, "A", ["k1", "k2"], holder="h1", flow_run_id="run-1")
    claims.claim(conn, "B", ["k1"], holder="h1", flow_run_id="run-1")
    claims.claim(conn, "A", ["k3"], holder="h2", flow_run_id="run-2")

    # release() runs in the caller's transaction: rolled back, the claim stays.
    with pytest.raises(RuntimeError, match="roll back"), conn.transaction():
        assert claims.release(conn, "A", ["k1"], "h1") == 1
        raise RuntimeError("roll back")
    assert ("A", "k1", "h1", "run-1") in _claims(conn)
    assert claims.release(conn, "A", [], "h1") == 0

    # Released in the transaction that records the result: another connection sees the key
    # running until the commit, then materialized — never neither claimed nor recorded.
    with psycopg.connect(db, autocommit=True) as observer:
        with conn.transaction():
            record_many(conn, A, [Record("k1", "v1")])
            assert claims.release(conn, "A", ["k1", "k3"], "h1") == 1  # k3 is h2's
            assert _states(observer, ["k1"]) == [("k1", "running")]
        assert _states(observer, ["k1"]) == [("k1", "materialized")]
    assert _states(conn, ["k1", "k2", "k3"]) == [
        ("k1", "materialized"), ("k2", "running"), ("k3", "running")]

    # heartbeat() renews every lease of the holder.
    _kill(conn, "h1")
    _kill(conn, "h2")
    assert claims.expired(conn) == [("A", "k2", "run-1"), ("A", "k3", "run-2"),
                                    ("B", "k1", "run-1")]
    assert status(conn, A, ["k2"])[0].kinds == {ReasonKind.LEASE_EXPIRED}
    assert claims.heartbeat(conn, "h1") == 2
    assert claims.expired(conn) == [("A", "k3", "run-2")]
    assert _states(conn, ["k2", "k3"]) == [("k2", "running"), ("k3", "failed")]
    assert claims.claim(conn, "A", ["k2"], holder="h3", flow_run_id="run-3").held == {
        "k2": "run-1"}
    assert claims.heartbeat(conn, "nobody") == 0

    # release_all() drops every claim of the holder, on every asset, and only its own.
    assert claims.release_all(conn, "h1") == 2
    assert _claims(conn) == [("A", "k3", "h2", "run-2")]
    assert _states(conn, ["k2"]) == [("k2", "missing")]
    assert claims.release_all(conn, "h1") == 0
