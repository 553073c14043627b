"""The event-driven path against a real Prefect server and a real `talentflow serve`:

row insert -> NOTIFY -> sensor tick -> event -> deployment trigger -> flow run (warm runner)
-> partitions materialized; the same partition run by hand through `prefect deployment run`;
duplicate events -> one run; one key never runs twice at once; a no-op update triggers
nothing; a burst becomes one batch run; an unknown key fails at once, saying so.

Waits are bounded (WAIT_S) and poll the partition tables, never sleep-and-hope.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from talentflow import events
from tests.e2e.conftest import E2E_BURST, REPO, Served

pytestmark = pytest.mark.e2e

WAIT_S = 60.0  # bound on insert -> materialized; the median is ~2-3 s (docs/events.md)
QUIET_S = 4.0  # how long "nothing else happens" is watched for
CANDIDATE_DEPLOYMENT = "candidate-pipeline/candidate-pipeline"
PREFECT = str(Path(sys.executable).with_name("prefect"))


# -- helpers --------------------------------------------------------------------------------
def insert_candidate(db: str, cid: str, cv: str = "Senior backend engineer: Python, Go, AWS, "
                     "PostgreSQL and Kafka, 8 years.") -> None:
    with psycopg.connect(db) as conn:
        conn.execute("INSERT INTO candidates (id, name, location, cv_text) "
                     "VALUES (%s, %s, 'Berlin', %s)", (cid, f"Name {cid}", cv))


def materializations(db: str, asset: str, key: str) -> list[dict[str, Any]]:
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            "SELECT id, status, data_version, flow_run_id, started_at, finished_at, error "
            "FROM materializations WHERE asset = %s AND partition_key = %s ORDER BY id",
            (asset, key)).fetchall()
    cols = ("id", "status", "data_version", "flow_run_id", "started_at", "finished_at", "error")
    return [dict(zip(cols, r, strict=True)) for r in rows]


def wait_materialized(db: str, key: str, *, asset: str = "candidate_matches", after_id: int = 0,
                      timeout: float = WAIT_S) -> dict[str, Any]:
    """The first materialized record of (asset, key) with id > after_id."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for m in materializations(db, asset, key):
            if m["id"] > after_id and m["status"] == "materialized":
                return m
        time.sleep(0.1)
    raise AssertionError(f"{asset}[{key}] not materialized within {timeout} s: "
                         f"{materializations(db, asset, key)}")


def runs_for(deployment: str, **parameters: Any) -> list[Any]:
    """Flow runs of a deployment (with these parameters), newest first."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import FlowRun

    with get_client(sync_client=True) as client:
        dep = client.read_deployment_by_name(deployment)
        # A body with only the fields we set: fastapi >= 0.151 answers 422 to the explicit
        # nulls `read_flow_runs` sends for every unset filter (prefect 3.8.8).
        resp = client.request("POST", "/flow_runs/filter", json={
            "deployments": {"id": {"any_": [str(dep.id)]}}, "sort": "ID_DESC", "limit": 200})
        resp.raise_for_status()
    runs = FlowRun.model_validate_list(resp.json())
    return [r for r in runs if all(r.parameters.get(k) == v for k, v in parameters.items())]


def wait_final(run_id: str, timeout: float = WAIT_S) -> Any:
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            run = client.read_flow_run(run_id)
            if run.state and run.state.is_final():
                return run
            time.sleep(0.2)
    raise AssertionError(f"flow run {run_id} not final within {timeout} s: {run.state}")


def read_events(name: str, resource_id: str, timeout: float = 20.0) -> list[dict[str, Any]]:
    """The stored events of that name and resource. Prefect persists events in batches after
    acting on them (a trigger may start a run before its event is readable), so this waits
    until at least one is there or `timeout` passes."""
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            resp = client.request("POST", "/events/filter", json={
                "filter": {"event": {"name": [name]}, "resource": {"id": [resource_id]}},
                "limit": 50})
            resp.raise_for_status()
            events = resp.json()["events"]
            if events or time.monotonic() > deadline:
                return events
            time.sleep(0.5)


def deployment_run(served: Served, *params: str) -> subprocess.CompletedProcess:
    """The operator's command, as a real subprocess of the real CLI."""
    args = [PREFECT, "deployment", "run", CANDIDATE_DEPLOYMENT]
    for p in params:
        args += ["--param", p]
    return subprocess.run(args, cwd=REPO, env=served.env(), capture_output=True, text=True,
                          timeout=120)


def run_id_from(out: str) -> str:
    match = re.search(r"UUID: ([0-9a-f-]{36})", out)
    assert match, out
    return match.group(1)


# -- tests ----------------------------------------------------------------------------------
def test_insert_becomes_materialized_partition_via_sensor_event_and_trigger(
        served: Served, prefect_api: str) -> None:
    db = served.database_url
    with psycopg.connect(db) as conn:
        conn.execute("INSERT INTO jobs (id, title, company, location, description) VALUES "
                     "('j-e2e-1', 'Backend Engineer', 'Paymo', 'Berlin', "
                     "'Python, Go, AWS, PostgreSQL and Kafka for payments.')")
    # Job first and done: its run's matching would otherwise also record candidate matches.
    wait_materialized(db, "j-e2e-1", asset="job_matches")
    t0 = time.monotonic()
    insert_candidate(db, "c-e2e-1")
    done = wait_materialized(db, "c-e2e-1")
    took = time.monotonic() - t0
    assert took < WAIT_S

    # The whole chain ran in ONE flow run: normalize, embed and match; and the job's list
    # takes the new candidate in (incrementally, by whichever run gets there first).
    [norm] = materializations(db, "normalized_candidates", "c-e2e-1")
    [vec] = materializations(db, "candidate_vectors", "c-e2e-1")
    assert norm["flow_run_id"] == vec["flow_run_id"] == done["flow_run_id"]
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        with psycopg.connect(db) as conn:
            row = conn.execute("SELECT candidate_ids FROM job_matches WHERE job_id = 'j-e2e-1'"
                               ).fetchone()
        if row and "c-e2e-1" in row[0]:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"j-e2e-1's list never took c-e2e-1 in: {row}")

    # The sensor's event reached the server with the key and the row's data version...
    [event] = read_events("talentflow.candidate.registered", "talentflow.candidate.c-e2e-1")
    with psycopg.connect(db) as conn:
        content_hash = conn.execute(
            "SELECT content_hash FROM candidates WHERE id = 'c-e2e-1'").fetchone()[0]
    assert event["payload"]["data_version"] == content_hash
    assert event["resource"][events.KEY_LABEL] == "c-e2e-1"
    # ...and the flow run was created by the deployment's trigger (an automation).
    run = wait_final(norm["flow_run_id"])
    assert run.state.is_completed(), run.state
    assert run.parameters == {"candidate_id": "c-e2e-1"}
    assert run.created_by is not None and run.created_by.type == "AUTOMATION"


def test_prefect_deployment_run_with_a_string_key_that_looks_like_a_number(
        served: Served, prefect_api: str) -> None:
    db = served.database_url
    insert_candidate(db, "12345")
    first = wait_materialized(db, "12345", asset="normalized_candidates")

    # JSON-quoted, the key stays a string; the partition is up to date, so the run plans
    # from its status and computes nothing (no second record, no LLM call).
    out = deployment_run(served, 'candidate_id="12345"')
    assert out.returncode == 0, out.stdout + out.stderr
    run = wait_final(run_id_from(out.stdout))
    assert run.state.is_completed(), run.state.message
    assert run.parameters == {"candidate_id": "12345"}
    assert [m["id"] for m in materializations(db, "normalized_candidates", "12345")] == [
        first["id"]]

    # Unquoted, the CLI parses a number: the server refuses it against the str parameter.
    bare = deployment_run(served, "candidate_id=12345")
    assert bare.returncode != 0 or "UUID" not in bare.stdout, bare.stdout


def test_duplicate_events_for_one_change_start_one_run(served: Served, prefect_api: str) -> None:
    db = served.database_url
    key = "c.e2e.dup"  # dots are fine: triggers read the key label, not the id's last part
    insert_candidate(db, key)
    done = wait_materialized(db, key)
    with psycopg.connect(db) as conn:
        seq, version = conn.execute("SELECT change_seq, content_hash FROM candidates "
                                    "WHERE id = %s", (key,)).fetchone()
    same_change = dict(kind="candidate", set_name="candidates", key=key, change="registered",
                       data_version=version, change_seq=seq)
    # Ten more events about the same change: re-sent ids, other senders, two at once.
    events.send([events.PartitionEvent(**same_change, source="duplicate-a"),
                 events.PartitionEvent(**same_change, source="duplicate-b")])
    for i in range(8):
        events.send([events.PartitionEvent(**same_change, source=f"duplicate-{i % 3}")])
    time.sleep(QUIET_S)

    assert len(runs_for(CANDIDATE_DEPLOYMENT, candidate_id=key)) == 1
    [normalized] = materializations(db, "normalized_candidates", key)
    assert normalized["status"] == "materialized" and done["status"] == "materialized"


def test_runs_racing_for_one_key_compute_it_once(served: Served, prefect_api: str) -> None:
    from prefect.client.orchestration import get_client

    db = served.database_url
    key = "c-e2e-pair"
    insert_candidate(db, key)
    first = wait_materialized(db, key, asset="normalized_candidates")
    # An edit (its event starts a run) and two more runs by hand, all at once.
    with psycopg.connect(db) as conn:
        conn.execute("UPDATE candidates SET cv_text = %s WHERE id = %s",
                     ("Data engineer: Spark, Airflow, dbt and PostgreSQL, 6 years.", key))
    with get_client(sync_client=True) as client:
        dep = client.read_deployment_by_name(CANDIDATE_DEPLOYMENT)
        ids = [str(client.create_flow_run_from_deployment(
            dep.id, parameters={"candidate_id": key}).id) for _ in range(2)]
    wait_materialized(db, key, asset="normalized_candidates", after_id=first["id"])
    runs = [wait_final(run_id) for run_id in ids]
    assert all(r.state.is_completed() for r in runs)
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:  # the event's run too
        pending = [r for r in runs_for(CANDIDATE_DEPLOYMENT, candidate_id=key)
                   if not r.state.is_final()]
        if not pending:
            break
        time.sleep(0.2)
    # The claim on each (asset, key): the new text was normalized and embedded exactly once.
    for asset in ("normalized_candidates", "candidate_vectors"):
        records = [m for m in materializations(db, asset, key) if m["status"] == "materialized"]
        assert len(records) == 2, (asset, records)


def test_changed_row_rematerializes_and_a_no_op_update_triggers_nothing(
        served: Served, prefect_api: str) -> None:
    db = served.database_url
    key = "c-e2e-change"
    insert_candidate(db, key)
    first = wait_materialized(db, key)
    first_norm = wait_materialized(db, key, asset="normalized_candidates")

    with psycopg.connect(db) as conn:  # same content: not a change (change_seq kept)
        conn.execute("UPDATE candidates SET cv_text = cv_text WHERE id = %s", (key,))
    time.sleep(QUIET_S)
    assert len(runs_for(CANDIDATE_DEPLOYMENT, candidate_id=key)) == 1
    assert len(materializations(db, "candidate_matches", key)) == 1

    with psycopg.connect(db) as conn:
        conn.execute("UPDATE candidates SET cv_text = %s WHERE id = %s",
                     ("Product designer: Figma, UX research and design systems, 5 years.", key))
    again = wait_materialized(db, key, after_id=first["id"])
    norm = wait_materialized(db, key, asset="normalized_candidates", after_id=first_norm["id"])
    assert norm["data_version"] != first_norm["data_version"]
    assert again["flow_run_id"] != first["flow_run_id"]
    assert read_events("talentflow.candidate.changed", f"talentflow.candidate.{key}")


def test_a_burst_becomes_one_batch_run(served: Served, prefect_api: str) -> None:
    db = served.database_url
    keys = [f"c-e2e-burst-{i}" for i in range(E2E_BURST + 2)]
    with psycopg.connect(db) as conn:  # one transaction: one NOTIFY, one tick, one page
        for k in keys:
            conn.execute("INSERT INTO candidates (id, name, cv_text) VALUES (%s, 'B', %s)",
                         (k, f"Data scientist {k}: PyTorch, statistics, A/B testing."))
    for k in keys:
        wait_materialized(db, k)
    batch_runs = [r for r in runs_for("talent-batch/talent-batch")
                  if set(keys) <= set(r.parameters.get("candidate_ids") or [])]
    assert len(batch_runs) == 1
    assert batch_runs[0].parameters["job_ids"] == []
    assert all(not runs_for(CANDIDATE_DEPLOYMENT, candidate_id=k) for k in keys)


def test_unknown_key_fails_at_once_with_a_clear_message(served: Served, prefect_api: str) -> None:
    out = deployment_run(served, "candidate_id=c-e2e-missing")
    assert out.returncode == 0, out.stdout + out.stderr
    run = wait_final(run_id_from(out.stdout))
    assert run.state.is_failed()
    assert "invalid partition key 'c-e2e-missing' for set 'candidates'" in run.state.message
    assert "not registered" in run.state.message
    assert (run.end_time - run.start_time).total_seconds() < 10

