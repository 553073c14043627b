"""Asset checks on the real engine: results per (check, key) tied to the materialization they
checked, blocking failures that keep downstream keys from running and show in status, warnings
that do not, a check re-run alone, and the run's Prefect artifact."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from talentflow.engine import (
    CheckResult,
    Definitions,
    DynamicPartitions,
    Severity,
    asset,
    asset_check,
    materialize,
    run_checks,
)
from talentflow.partitions import registry
from talentflow.partitions.status import ReasonKind, counts, status


def build(calls: list[tuple[str, str]], *, extra_checks: Callable[[Any], list] | None = None,
          blocking: bool = True) -> Definitions:
    items = DynamicPartitions("items")

    @asset(partitions=items, source=True)
    def raw(ctx) -> dict[str, str]:
        rows = ctx.conn.execute("SELECT id, body FROM items WHERE id = ANY(%s)", [ctx.keys])
        return dict(rows.fetchall())

    @asset(partitions=items)
    def clean(key: str, raw: str) -> dict[str, Any]:
        calls.append(("clean", key))
        return {"v": raw.strip().lower()}

    @asset(partitions=items)
    def report(key: str, clean: dict) -> dict[str, Any]:
        calls.append(("report", key))
        return {"len": len(clean["v"])}

    @asset_check(asset=clean, blocking=blocking)
    def not_empty(clean: dict) -> bool:
        """A cleaned row has text."""
        return clean["v"] != ""

    @asset_check(asset=clean)
    def keeps_length(key: str, clean: dict, raw: str) -> CheckResult:
        """Cleaning only trims: compares with the raw row the asset read."""
        lost = len(raw.strip()) - len(clean["v"])
        return CheckResult(lost == 0, Severity.WARN, metadata={"lost": lost, "key": key})

    checks = [not_empty, keeps_length, *(extra_checks(clean) if extra_checks else [])]
    return Definitions(assets=[raw, clean, report], checks=checks)


@pytest.fixture
def rows(db: str) -> Callable[[dict[str, str]], None]:
    with psycopg.connect(db) as conn:
        conn.execute("CREATE TABLE items (id text PRIMARY KEY, body text NOT NULL)")

    def put(found: dict[str, str]) -> None:
        from talentflow.db import connect

        with psycopg.connect(db) as conn:
            for k, body in found.items():
                conn.execute("INSERT INTO items VALUES (%s, %s) ON CONFLICT (id) DO UPDATE "
                             "SET body = EXCLUDED.body", (k, body))
        with connect() as conn:
            registry.add_keys(conn, "items", list(found))

    return put


def _results(db: str) -> list[tuple]:
    with psycopg.connect(db) as conn:
        return conn.execute(
            "SELECT r.check_name, r.partition_key, r.outcome, r.blocks, "
            "r.materialization_id = l.success_id, r.metadata "
            "FROM check_results r JOIN partition_latest l "
            "ON l.asset = r.asset AND l.partition_key = r.partition_key "
            "ORDER BY r.id").fetchall()


def test_a_failed_blocking_check_stops_that_keys_downstream_and_shows_in_status(
        db: str, rows) -> None:
    calls: list[tuple[str, str]] = []
    defs = build(calls)
    rows({"a": "Alpha", "b": "   ", "c": "Gamma"})

    report = materialize(defs, ["report+upstream"])

    assert not report.ok  # a blocking check failed: the run says so
    clean, down = report.assets["clean"], report.assets["report"]
    assert sorted(clean.ran) == ["a", "b", "c"]
    assert clean.check_failed == {"b": "check failed: not_empty"}
    assert clean.checks["not_empty"] == {"passed": 2, "failed": 1, "error": 0}
    assert sorted(k for a, k in calls if a == "report") == ["a", "c"]
    assert "b" in down.blocked and "check failed: not_empty" in down.blocked["b"]
    # Every result belongs to the materialization it checked.
    got = _results(db)
    assert {(c, k, o) for c, k, o, *_ in got} == {
        ("not_empty", "a", "passed"), ("not_empty", "b", "failed"), ("not_empty", "c", "passed"),
        ("keeps_length", "a", "passed"), ("keeps_length", "b", "passed"),
        ("keeps_length", "c", "passed")}
    assert all(current for *_, current, _ in got)
    assert [blocks for c, k, o, blocks, *_ in got if (c, k) == ("not_empty", "b")] == [True]

    from talentflow.db import connect

    bound = defs.bind()
    with connect() as conn:
        by_key = {s.key: s for s in status(conn, bound.get("clean"))}
        tally = counts(conn, bound.get("clean"))
        down_status = {s.key: s.status for s in status(conn, bound.get("report"))}
    assert by_key["b"].status == "failed"
    assert by_key["b"].describe() == "check failed: not_empty"
    assert ReasonKind.CHECK_FAILED in by_key["b"].kinds
    assert by_key["a"].status == "materialized"
    assert tally["failed"] == 1 and tally["materialized"] == 2  # the counting query agrees
    assert down_status == {"a": "materialized", "b": "missing", "c": "materialized"}

    # New input is the way out: the fixed row makes the key stale (not failed), and the run
    # that follows checks it again, passes, and lets its downstream run.
    rows({"b": "Beta"})
    from talentflow.engine.run import observe_all

    with connect() as conn:
        observe_all(conn, [bound.get("raw")], {})  # what `talentflow status` does first
        assert status(conn, bound.get("clean"), ["b"])[0].status == "stale"
    calls.clear()
    again = materialize(defs, ["report+upstream"])
    assert again.ok
    assert calls == [("clean", "b"), ("report", "b")]
    with connect() as conn:
        assert status(conn, bound.get("clean"), ["b"])[0].status == "materialized"


def test_a_non_blocking_failure_warns_and_downstream_runs(db: str, rows) -> None:
    calls: list[tuple[str, str]] = []
    defs = build(calls, blocking=False)
    rows({"a": "Alpha", "b": "   "})

    report = materialize(defs, ["report+upstream"])

    assert report.ok
    assert report.assets["clean"].check_warnings == {"b": "check failed: not_empty"}
    assert sorted(k for a, k in calls if a == "report") == ["a", "b"]
    from talentflow.db import connect

    with connect() as conn:
        assert {s.status for s in status(conn, defs.bind().get("clean"))} == {"materialized"}


def test_checks_receive_the_upstream_values_the_asset_read(db: str, rows) -> None:
    calls: list[tuple[str, str]] = []

    def shouting(clean_asset):
        @asset_check(asset=clean_asset, name="no_shouting")
        def check(raw: str, key: str) -> CheckResult:
            return CheckResult(raw == raw.lower() or not raw.isupper(), Severity.WARN,
                               description=f"{key} raw={raw!r}")
        return [check]

    defs = build(calls, extra_checks=shouting)
    rows({"a": "LOUD", "b": "quiet"})

    report = materialize(defs, ["clean"])

    assert report.assets["clean"].check_warnings == {"a": "check failed: no_shouting"}
    assert report.ok  # WARN severity never blocks
    meta = {(c, k): m for c, k, _, _, _, m in _results(db)}
    assert meta[("keeps_length", "a")] == {"lost": 0, "key": "a"}


def test_a_check_that_raises_or_returns_garbage_is_an_error_and_blocks(db: str, rows) -> None:
    calls: list[tuple[str, str]] = []

    def broken(clean_asset):
        @asset_check(asset=clean_asset, blocking=True)
        def explodes(clean: dict) -> bool:
            if clean["v"] == "boom":
                raise RuntimeError("cannot judge")
            return True

        @asset_check(asset=clean_asset)
        def says_maybe(clean: dict) -> Any:
            return "maybe"
        return [explodes, says_maybe]

    defs = build(calls, extra_checks=broken)
    rows({"a": "boom", "b": "fine"})

    report = materialize(defs, ["report+upstream"])

    assert report.assets["clean"].check_failed == {"a": "check errored: explodes"}
    assert report.assets["clean"].checks["says_maybe"]["error"] == 2
    assert [k for a, k in calls if a == "report"] == ["b"]
    with psycopg.connect(db) as conn:
        errors = dict(conn.execute(
            "SELECT check_name, error FROM check_results WHERE outcome = 'error' AND "
            "partition_key = 'a' ORDER BY check_name").fetchall())
    assert errors["explodes"] == "RuntimeError: cannot judge"
    assert "returned str, expected bool or CheckResult" in errors["says_maybe"]


def test_a_check_re_run_alone_records_against_the_same_materialization(db: str, rows) -> None:
    calls: list[tuple[str, str]] = []
    strict = {"min": 5}

    def min_length(clean_asset):
        @asset_check(asset=clean_asset, blocking=True)
        def long_enough(clean: dict) -> CheckResult:
            return CheckResult(len(clean["v"]) >= strict["min"],
                               metadata={"length": len(clean["v"])})
        return [long_enough]

    defs = build(calls, extra_checks=min_length)
    rows({"a": "abc", "b": "abcdef", "c": "xy"})
    first = materialize(defs, ["clean"])
    assert sorted(first.assets["clean"].check_failed) == ["a", "c"]
    with psycopg.connect(db) as conn:
        mats = conn.execute("SELECT count(*) FROM materializations").fetchone()[0]

    strict["min"] = 3  # the rule was too strict; no data changed
    calls.clear()
    again = run_checks(defs, ["long_enough"], keys=["a", "c"])

    assert calls == []  # nothing materialized: only the check ran
    assert again.assets["clean"].checks["long_enough"] == {"passed": 1, "failed": 1, "error": 0}
    assert again.assets["clean"].check_failed == {"c": "check failed: long_enough"}
    from talentflow.db import connect

    with connect() as conn:
        by_key = {s.key: s.status for s in status(conn, defs.bind().get("clean"))}
        assert conn.execute("SELECT count(*) FROM materializations").fetchone()[0] == mats
    assert by_key == {"a": "materialized", "b": "materialized", "c": "failed"}
    latest = [r for r in _results(db) if r[0] == "long_enough" and r[1] == "a"]
    assert [r[2] for r in latest] == ["failed", "passed"] and all(r[4] for r in latest)

    # Unblocked: the downstream of 'a' runs now; 'c' stays blocked.
    down = materialize(defs, ["report"])
    assert sorted(down.assets["report"].ran) == ["a", "b"]
    assert "c" in down.assets["report"].blocked


def test_the_checks_of_a_run_are_an_artifact_on_its_flow_run(db: str, rows) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    defs = build([])
    rows({"a": "Alpha", "b": " "})
    report = materialize(defs, ["clean"])
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=["asset-checks"])))
    mine = [a for a in found if str(a.flow_run_id) == report.flow_run_id]
    assert len(mine) == 1
    table = mine[0].data if isinstance(mine[0].data, list) else __import__("json").loads(
        mine[0].data)
    by_check = {row["check"]: row for row in table}
    assert by_check["not_empty"]["failed"] == 1 and by_check["not_empty"]["passed"] == 1
    assert by_check["not_empty"]["failing keys"] == "b"
    assert by_check["not_empty"]["blocking"] is True


def test_definitions_refuse_checks_they_cannot_run() -> None:
    items = DynamicPartitions("items")

    @asset(partitions=items)
    def clean(key: str) -> dict:
        return {}

    @asset_check(asset="clean")
    def odd(clean: dict, weather: str) -> bool:
        return True

    with pytest.raises(ValueError, match=r"check 'odd' takes \['weather'\]"):
        Definitions(assets=[clean], checks=[odd])

    @asset_check(asset="elsewhere")
    def lost(value: dict) -> bool:
        return True

    with pytest.raises(ValueError, match="check 'lost' is of 'elsewhere'"):
        Definitions(assets=[clean], checks=[lost])

    @asset_check(asset=clean, name="lost")
    def twin(value: dict) -> bool:
        return True

    with pytest.raises(ValueError, match="two checks are named 'lost'"):
        Definitions(assets=[clean], checks=[twin, twin.__class__("lost", clean, twin.fn)])

