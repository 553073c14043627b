"""Declarative automation and the reconcile loop: what is missing, stale or abandoned by a
dead run is picked up with no operator step; failures are not retried forever; cron ticks run
once; launches through the deployment are never doubled while one is in flight."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from talentflow.engine import (
    Definitions,
    Eager,
    OnCron,
    OnMissing,
    StaticPartitions,
    TimeWindowPartitions,
    asset,
)
from talentflow.engine.reconcile import (
    evaluate,
    launch_deployment,
    launch_inline,
    reconcile_once,
)
from talentflow.partitions import claims, status
from tests.engine.conftest import Project

SET = StaticPartitions("letters", ["a", "b", "c"])


def _defs(calls: list[str], automation, fail: set[str] = frozenset()) -> Definitions:
    @asset(partitions=SET, automation=automation)
    def upper(key: str) -> str:
        calls.append(key)
        if key in fail:
            raise RuntimeError(f"no {key}")
        return key.upper()

    return Definitions(assets=[upper])


def _states(defs: Definitions) -> dict[str, str]:
    from talentflow.db import connect

    with connect() as conn:
        return {s.key: s.status for s in status(conn, defs.get("upper"))}


def test_eager_runs_what_is_missing_then_nothing(db: str) -> None:
    calls: list[str] = []
    defs = _defs(calls, Eager())
    first = reconcile_once(defs, launcher=launch_inline)
    assert [x.group for x in first.launches] == ["eager"]
    assert first.launches[0].pending == {"upper": 3}
    assert sorted(calls) == ["a", "b", "c"] and set(_states(defs).values()) == {"materialized"}
    again = reconcile_once(defs, launcher=launch_inline)
    assert again.launches == [] and len(calls) == 3


def test_failures_are_not_retried_forever_but_dead_runs_are(db: str) -> None:
    from talentflow.db import connect

    calls: list[str] = []
    defs = _defs(calls, Eager(), fail={"b"})
    reconcile_once(defs, launcher=launch_inline)
    assert _states(defs)["b"] == "failed"
    calls.clear()
    # A key whose computation raised waits for you: not retried every evaluation.
    assert reconcile_once(defs, launcher=launch_inline).launches == [] and calls == []
    retrying = _defs(calls, Eager(retry_failed=True), fail=set())
    reconcile_once(retrying, launcher=launch_inline)
    assert calls == ["b"]

    # A run that died on this host (its process is gone) left a key claimed: taken over at
    # once, without waiting for the lease.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    holder = claims.local_holder("dead-run").replace(f":{os.getpid()}:", f":{dead}:")
    with connect() as conn:
        conn.execute("DELETE FROM partition_latest WHERE partition_key = 'c'")
        claims.claim(conn, "upper", ["c"], holder=holder, flow_run_id=None, lease_s=3600)
    calls.clear()
    report = reconcile_once(defs, launcher=launch_inline)
    assert report.expired_claims == 1 and calls == ["c"]


def test_on_missing_leaves_stale_keys_alone(project: Project) -> None:
    project.add_rows({"k-1": "x", "k-2": "y"})
    clean = project.defs.get("clean")
    clean.automation = OnMissing()
    defs = Definitions(assets=[project.defs.get("raw"), clean])
    reconcile_once(defs, launcher=launch_inline)
    assert sorted(project.computed("clean")) == ["k-1", "k-2"]
    project.add_rows({"k-1": "changed", "k-3": "new"})
    project.calls.clear()
    reconcile_once(defs, launcher=launch_inline)
    assert project.computed("clean") == ["k-3"]  # k-1 is stale: not this condition's business


def test_on_cron_runs_the_latest_window_once_per_tick(db: str) -> None:
    days = TimeWindowPartitions("days", start="2026-11-01", schedule="daily", timezone="UTC")
    ran: list[str] = []

    @asset(partitions=days, automation=OnCron("0 1 * * *"))
    def daily(key: str) -> str:
        ran.append(key)
        return key

    defs = Definitions(assets=[daily])
    at = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    reconcile_once(defs, now=at, launcher=launch_inline)
    assert ran == ["2026-11-19"]  # the tick at 01:00 on the 20th: the day that just ended
    assert reconcile_once(defs, now=at, launcher=launch_inline).launches == []  # tick done
    reconcile_once(defs, now=datetime(2026, 11, 21, 1, 30, tzinfo=UTC),
                   launcher=launch_inline)
    assert ran == ["2026-11-19", "2026-11-20"]


def test_launches_through_the_deployment_are_not_doubled(db: str) -> None:
    from prefect.client.orchestration import get_client

    from flows.materialize import materialize_flow

    materialize_flow.to_deployment(name="materialize").apply()
    defs = _defs([], Eager())
    first = reconcile_once(defs, launcher=launch_deployment)
    run_id = first.launches[0].run
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
    assert run.parameters == {"assets": ["upper"], "only": ["lease_expired", "missing",
                                                          "stale"]}
    assert "reconcile" in run.tags and run.state.name == "Scheduled"
    second = reconcile_once(defs, launcher=launch_deployment)
    assert second.launches[0].run.startswith(f"skipped: run {run_id}")


def test_the_cli_lists_conditions_and_what_would_run(db: str) -> None:
    from typer.testing import CliRunner

    from talentflow.cli.app import app

    out = CliRunner().invoke(app, ["automation", "list", "--json"])
    assert out.exit_code == 0, out.output
    rows = {r["asset"]: r for r in json.loads(out.stdout)}
    assert rows["normalized_candidates"]["automation"] == "eager"
    assert rows["job_matches"]["would_run"] == 0
    assert "candidates" not in rows  # sources are observed, not automated


@pytest.mark.parametrize("bad", ["not a cron", "0 0 * *"])
def test_a_bad_cron_fails_at_declaration(bad: str) -> None:
    with pytest.raises(ValueError, match="cron"):
        OnCron(bad)


def test_evaluate_launches_nothing(db: str) -> None:
    calls: list[str] = []
    report = evaluate(_defs(calls, Eager()))
    assert report.launches[0].pending == {"upper": 3} and calls == []


def test_keys_a_run_would_only_block_launch_nothing(db: str) -> None:
    """A key whose upstream row does not exist fails once (its source has no value); its
    downstream is blocked, not pending: the loop does not launch a run for it every
    evaluation."""
    import psycopg

    from talentflow.engine import source_asset

    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("CREATE TABLE letter_rows (k text PRIMARY KEY, v text)")
        conn.execute("INSERT INTO letter_rows VALUES ('a', 'alpha'), ('b', 'beta')")

    def load(ctx) -> dict[str, str]:
        return dict(ctx.conn.execute("SELECT k, v FROM letter_rows WHERE k = ANY(%s)",
                                     [ctx.keys]).fetchall())

    calls: list[str] = []
    rows = source_asset("letter_rows", SET, fn=load)

    @asset(partitions=SET, automation=Eager())
    def shout(key: str, letter_rows: str) -> str:
        calls.append(f"shout:{key}")
        return letter_rows.upper()

    @asset(partitions=SET, automation=Eager())
    def shout_len(key: str, shout: str) -> int:
        calls.append(f"len:{key}")
        return len(shout)

    defs = Definitions(assets=[rows, shout, shout_len])
    first = reconcile_once(defs, launcher=launch_inline)
    # shout['c'] has no source row: not pending. shout_len['c'] still counts this first time
    # (its upstream is in the run and might be produced by it).
    assert first.launches[0].pending == {"shout": 2, "shout_len": 3}
    assert sorted(calls) == ["len:a", "len:b", "shout:a", "shout:b"]
    # 'c' has no row: shout['c'] failed (not retried by Eager), shout_len['c'] blocked.
    assert evaluate(defs).launches == []
    assert reconcile_once(defs, launcher=launch_inline).launches == []
    # The row arrives: the failed key waits for `backfill --failed` (or retry_failed=True),
    # as any failure does, and its downstream runs with it.
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("INSERT INTO letter_rows VALUES ('c', 'gamma')")
    calls.clear()
    retrying = Definitions(assets=[rows, shout.__class__(
        "shout", SET, shout.deps, fn=shout.fn, automation=Eager(retry_failed=True)), shout_len])
    late = reconcile_once(retrying, launcher=launch_inline)
    assert [x.pending for x in late.launches] == [{"shout": 1}]  # its own group
    assert calls == ["shout:c"]
    after = reconcile_once(retrying, launcher=launch_inline)  # now runnable downstream
    assert [x.pending for x in after.launches] == [{"shout_len": 1}]
    assert calls == ["shout:c", "len:c"]
