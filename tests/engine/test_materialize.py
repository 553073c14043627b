"""The engine on the real parts (PostgreSQL, the Prefect API): plan → claim → read →
compute → record, per-key isolation and retries, claims, lineage, caching, logs."""

from __future__ import annotations

import psycopg
import pytest

from talentflow.engine import materialize
from talentflow.partitions import InvalidPartitionKey, ReasonKind, claims, status
from tests.engine.conftest import Project, build, flow_runs

ROWS = {f"k-{i}": f"  Hello {i} " for i in range(1, 8)}


def _status(p: Project, asset: str, keys: list[str] | None = None) -> dict:
    from talentflow.db import connect

    with connect() as conn:
        return {s.key: s for s in status(conn, p.defs.get(asset), keys)}


def test_run_then_nothing_to_do_then_exactly_the_edited_key(project: Project) -> None:
    project.add_rows(ROWS)
    first = materialize(project.defs, ["report+upstream"])
    assert first.ok and first.flow_run_id
    assert sorted(first.assets["clean"].ran) == sorted(ROWS)
    assert sorted(first.assets["report"].ran) == sorted(ROWS)
    with psycopg.connect(project.db) as conn:
        value = conn.execute("SELECT value FROM asset_values WHERE asset = 'report' "
                             "AND partition_key = 'k-3'").fetchone()[0]
    assert value == {"len": len("hello 3")}

    before = flow_runs()
    again = materialize(project.defs, ["report+upstream"])
    assert again.flow_run_id is None and not again.assets  # planned: no flow run at all
    assert flow_runs() == before

    project.calls.clear()
    project.add_rows({"k-2": "  Changed  "})
    # The source is not selected, but what the selection reads is observed first.
    third = materialize(project.defs, ["clean", "report"])
    assert third.assets["clean"].ran == ["k-2"] and third.assets["report"].ran == ["k-2"]
    assert project.computed("clean") == ["k-2"]


def test_an_invalid_key_is_rejected_before_any_flow_run(project: Project) -> None:
    project.add_rows(ROWS)
    before = flow_runs()
    with pytest.raises(InvalidPartitionKey, match=r"'k-404'.*'items'.*not registered"):
        materialize(project.defs, ["report"], keys=["k-1", "k-404"])
    assert flow_runs() == before
    assert project.calls == []


def test_selections_keys_range_prefix_and_states(project: Project) -> None:
    project.add_rows(ROWS)
    one = materialize(project.defs, ["clean"], keys=["k-3"])
    assert one.assets["clean"].ran == ["k-3"]
    ranged = materialize(project.defs, ["clean"], key_from="k-1", key_to="k-2")
    assert sorted(ranged.assets["clean"].ran) == ["k-1", "k-2"]
    prefixed = materialize(project.defs, ["clean"], prefix="k-4")
    assert prefixed.assets["clean"].ran == ["k-4"]
    # downstream of selected keys: report for k-3 only (Identity)
    down = materialize(project.defs, ["clean+"], keys=["k-3"])
    assert down.assets["report"].ran == ["k-3"]
    # only failed: nothing failed yet, nothing runs
    assert not materialize(project.defs, ["clean"], only=["failed"]).assets


def test_one_bad_key_never_fails_its_batch_mates(project: Project) -> None:
    project.add_rows({**ROWS, "k-bad": "!broken"})
    result = materialize(project.defs, ["report+upstream"])
    assert not result.ok
    assert list(result.assets["clean"].failed) == ["k-bad"]
    assert "ValueError: bad row k-bad" in result.assets["clean"].failed["k-bad"]
    assert sorted(result.assets["clean"].ran) == sorted(ROWS)
    # its downstream is blocked, not run and not recorded as failed
    assert list(result.assets["report"].blocked) == ["k-bad"]
    states = _status(project, "clean")
    assert states["k-bad"].status == "failed" and states["k-bad"].kinds == {ReasonKind.FAILED}
    assert _status(project, "report")["k-bad"].status == "missing"


def test_retries_are_per_key_with_the_batch_mates_computed_once(project: Project) -> None:
    project.defs = build(project, report_retries=2)
    project.add_rows(ROWS)
    project.fail = {"k-2": 2}  # fails twice, then succeeds on the last attempt
    result = materialize(project.defs, ["report+upstream"])
    assert result.ok, result.failed
    assert project.computed("report").count("k-2") == 3
    assert all(project.computed("report").count(k) == 1 for k in ROWS if k != "k-2")
    project.fail = {"k-5": 5}
    project.add_rows({"k-5": "  again  "})
    failed = materialize(project.defs, ["report+upstream"])
    assert "flaky k-5" in failed.assets["report"].failed["k-5"]
    with psycopg.connect(project.db) as conn:
        meta = conn.execute(
            "SELECT m.metadata FROM materializations m JOIN partition_latest l "
            "ON l.materialization_id = m.id WHERE l.asset = 'report' "
            "AND l.partition_key = 'k-5'").fetchone()[0]
    assert meta["attempts"] == 3


def test_a_failed_key_is_computed_again_never_served_from_the_cache(project: Project) -> None:
    project.add_rows({"k-1": "  one  "})
    materialize(project.defs, ["report+upstream"])
    project.add_rows({"k-1": "  two  "})
    project.fail = {"k-1": 1}
    assert not materialize(project.defs, ["report+upstream"]).ok
    project.add_rows({"k-1": "  one  "})  # back to the inputs of the first, cached, success
    project.calls.clear()
    result = materialize(project.defs, ["report+upstream"])
    assert result.assets["clean"].cached == ["k-1"]  # clean did not fail: a cache hit
    assert result.assets["report"].ran == ["k-1"] and project.computed("report") == ["k-1"]


def test_a_key_held_by_a_live_run_is_not_computed(project: Project) -> None:
    from talentflow.db import connect

    project.add_rows(ROWS)
    with connect() as conn:
        claims.claim(conn, "clean", ["k-1"], holder="other-run", flow_run_id="run-42",
                     lease_s=300)
    assert _status(project, "clean", ["k-1"])["k-1"].status == "running"
    result = materialize(project.defs, ["clean"])
    assert result.assets["clean"].held == {"k-1": "run-42"}
    assert "k-1" not in project.computed("clean")
    assert sorted(result.assets["clean"].ran) == sorted(k for k in ROWS if k != "k-1")


def test_a_dead_runs_keys_show_lease_expired_are_rerun_and_its_run_is_crashed(
        project: Project) -> None:
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.states import Running

    from talentflow.db import connect

    @flow(name="a-run-that-dies")
    def dies() -> None: ...

    with get_client(sync_client=True) as client:
        run = client.create_flow_run(dies)
        client.set_flow_run_state(run.id, Running(), force=True)
    project.add_rows(ROWS)
    with connect() as conn:
        claims.claim(conn, "clean", ["k-1", "k-2"], holder="dead", flow_run_id=str(run.id),
                     lease_s=30)
        conn.execute("UPDATE partition_claims SET heartbeat_at = now() - interval '1 minute'")
    row = _status(project, "clean", ["k-1"])["k-1"]
    assert row.status == "failed" and row.kinds == {ReasonKind.LEASE_EXPIRED}
    assert f"run {run.id} died (lease expired)" in row.describe()

    result = materialize(project.defs, ["clean"], only=["failed"])
    assert sorted(result.assets["clean"].ran) == ["k-1", "k-2"]
    assert _status(project, "clean", ["k-1"])["k-1"].status == "materialized"
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(run.id).state.name == "Crashed"
    with connect() as conn:
        assert conn.execute("SELECT count(*) FROM partition_claims").fetchone()[0] == 0


def test_task_runs_are_named_after_asset_and_keys_and_logs_carry_the_key(
        project: Project) -> None:
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        LogFilter,
        LogFilterFlowRunId,
    )

    project.add_rows({"k-1": " a ", "k-2": " bb "})
    result = materialize(project.defs, ["report+upstream"])
    run_id = UUID(result.flow_run_id)
    with get_client(sync_client=True) as client:
        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(
            any_=[run_id])))
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=10)
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(
            any_=[run_id])))
    names = sorted(t.name for t in tasks)
    assert names == ["clean[k-1…k-2 (2 keys)]", "report[k-1…k-2 (2 keys)]"]
    messages = [log.message for log in logs]
    assert "[report k-2] length 2" in messages


def test_two_runs_racing_over_the_same_keys_compute_each_key_once(project: Project) -> None:
    """A batch run and a single-key run at once: claims, and a plan repeated under the claim,
    mean no key is computed twice — whoever gets a key first does it, the other skips it."""
    import threading
    import time

    from talentflow.engine import Definitions, asset

    project.add_rows(ROWS)
    raw = project.defs.get("raw")
    computed: list[str] = []
    lock = threading.Lock()

    @asset(partitions=raw.partitions, batch_size=2)
    def slow(ctx, raw: dict) -> dict:
        time.sleep(0.3)  # long enough for the other run to plan and try to claim
        with lock:
            computed.extend(ctx.keys)
        return {k: v.strip() for k, v in raw.items()}

    defs = Definitions(assets=[raw, slow])
    errors: list[BaseException] = []
    flow_runs()  # the ephemeral Prefect API up before three runs ask for it at once

    def run(**kw) -> None:
        try:
            materialize(defs, ["slow"], **kw)
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run), threading.Thread(target=run, kwargs={
        "keys": ["k-1", "k-7"]}), threading.Thread(target=run)]
    for t in threads:
        t.start()
        time.sleep(0.2)
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert sorted(computed) == sorted(ROWS)  # every key once, none twice
    from talentflow.db import connect

    with connect() as conn:
        assert {s.status for s in status(conn, defs.get("slow"))} == {"materialized"}


def test_a_key_finished_between_plan_and_claim_is_not_computed_again(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run B plans while a key is missing, run A then computes it, B claims it: B must see,
    under its claim, that the key is now fresh (the plan is repeated after claiming)."""
    import threading

    from talentflow.engine import run as engine_run

    project.add_rows({"k-1": " one "})
    planned = engine_run.Run._plan
    b_planned, a_done = threading.Event(), threading.Event()

    def plan(self, conn, a, *args, **kwargs):
        out = planned(self, conn, a, *args, **kwargs)
        if threading.current_thread().name == "run-b" and a.name == "clean":
            b_planned.set()
            assert a_done.wait(60), "run A never finished"
        return out

    monkeypatch.setattr(engine_run.Run, "_plan", plan)
    flow_runs()
    errors: list[BaseException] = []

    def run_b() -> None:
        try:
            materialize(project.defs, ["clean"], skip_if_up_to_date=False)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    b = threading.Thread(target=run_b, name="run-b")
    b.start()
    assert b_planned.wait(60)
    materialize(project.defs, ["clean"])  # run A, in this thread
    a_done.set()
    b.join(60)
    assert not errors, errors
    assert project.computed("clean") == ["k-1"]
