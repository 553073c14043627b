"""The work-pool path, end to end, the way an operator runs it on many hosts:

    prefect work-pool create talentflow --type process
    prefect deploy --all                          # prefect.yaml, from the repository root
    prefect worker start --pool talentflow        # repository root, DATABASE_URL set

(a) `prefect deployment run 'materialize/materialize'` runs on the worker and materializes
the partition; (b) a row change + `talentflow sensor tick` emits the event whose trigger
(an automation `prefect deploy` created) starts `candidate-pipeline`, which runs on the
worker too.

Its own Prefect server (and database), not the package's `e2e_server`: `talentflow serve`
re-applies the same deployments there and its warm runner polls them by id, so on a shared
server serve and the worker would race for the same runs. Here nothing but the worker can
execute a run. A process worker starts a new Python per run (imports and the model each
time), so the test makes two runs and waits generously.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.e2e.conftest import (
    REPO,
    drop_database,
    prefect_server_on_postgres,
    stop_process_group,
)
from tests.e2e.test_event_driven import insert_candidate, materializations, run_id_from

pytestmark = pytest.mark.e2e

POOL = "talentflow"
PIPELINE = "candidate-pipeline/candidate-pipeline"
BIN = Path(sys.executable).parent
CLI_TIMEOUT_S = 180.0  # `prefect deploy --all` imports every flow of prefect.yaml
RUN_TIMEOUT_S = 150.0  # scheduled -> final on a process worker: 8-14 s measured here
WORKER_READY_S = 120.0
# The worker's poll interval (default 10 s): shorter here so the test spends its time on
# what it measures, the process start per run, not on waiting for the next poll.
WORKER_QUERY_S = "2"


@dataclass(frozen=True)
class PoolWorld:
    api_url: str
    database_url: str
    env: dict[str, str]  # what every CLI of this world runs with (prefect, talentflow)
    worker_log: Path


def _cli(world_env: dict[str, str], *args: str, timeout: float = CLI_TIMEOUT_S
         ) -> subprocess.CompletedProcess[str]:
    """A real CLI command in the repository root, as the operator types it; fails loudly."""
    out = subprocess.run(list(args), cwd=REPO, env=world_env, capture_output=True, text=True,
                         timeout=timeout, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, f"{' '.join(args)} -> {out.returncode}\n{out.stdout}\n{out.stderr}"
    return out


def _wait_worker_online(api_url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Until the worker has sent its first heartbeat to the pool (it is polling)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    deadline = time.monotonic() + WORKER_READY_S
    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"prefect worker exited with {proc.returncode}; log {log}:\n"
                                   + log.read_text(errors="replace")[-4000:])
            resp = client.request("POST", f"/work_pools/{POOL}/workers/filter", json={})
            if resp.status_code == 200 and resp.json():
                return
            time.sleep(0.5)
    raise RuntimeError(f"no worker of pool {POOL} online after {WORKER_READY_S:.0f} s; log {log}")


@pytest.fixture(scope="module")
def pool_world(pg_server_url: str, migrated_template: str,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[PoolWorld]:
    """Its own Prefect server, a fresh talentflow database, the pool, `prefect deploy --all`
    and one `prefect worker start --pool talentflow`, all stopped and dropped afterwards."""
    from tests.conftest import new_database

    home = tmp_path_factory.mktemp("work-pool")
    with prefect_server_on_postgres(pg_server_url, home / "server") as srv:
        db_url = new_database(pg_server_url)
        env = {
            **os.environ,
            "PREFECT_API_URL": srv.api_url,
            "PREFECT_HOME": str(home / "client"),
            "PREFECT_CLI_PROMPT": "false",  # `prefect deploy` asks nothing, it uses the file
            "DATABASE_URL": db_url,
            # Offline and free: the rules normalizer and the packaged embedding model.
            "TALENTFLOW_LLM_PROVIDER": "rules",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "PREFECT_WORKER_QUERY_SECONDS": WORKER_QUERY_S,
            "PREFECT_LOGGING_LEVEL": "INFO",
        }
        log = home / "worker.log"
        worker: subprocess.Popen[bytes] | None = None
        try:
            _cli(env, str(BIN / "prefect"), "work-pool", "create", POOL, "--type", "process")
            _cli(env, str(BIN / "prefect"), "deploy", "--all")
            with open(log, "wb") as out:
                worker = subprocess.Popen(
                    [str(BIN / "prefect"), "worker", "start", "--pool", POOL],
                    cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    # The CLI runs the worker in a child process: killpg reaches both.
                    start_new_session=True,
                )
            _wait_worker_online(srv.api_url, worker, log)
            yield PoolWorld(srv.api_url, db_url, env, log)
        finally:
            if worker is not None:
                stop_process_group(worker)
            drop_database(pg_server_url, db_url)


def _wait_final(client: Any, run_id: str, log: Path) -> Any:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        run = client.read_flow_run(run_id)
        if run.state and run.state.is_final():
            return run
        time.sleep(0.5)
    raise AssertionError(f"flow run {run_id} not final within {RUN_TIMEOUT_S:.0f} s: "
                         f"{run.state}; worker log {log}")


def _runs_of(client: Any, deployment: str) -> list[Any]:
    from prefect.client.schemas.objects import FlowRun

    dep = client.read_deployment_by_name(deployment)
    # Only the fields we set (explicit nulls in the filter body are refused, see
    # test_event_driven.runs_for).
    resp = client.request("POST", "/flow_runs/filter", json={
        "deployments": {"id": {"any_": [str(dep.id)]}}, "sort": "ID_DESC", "limit": 50})
    resp.raise_for_status()
    return FlowRun.model_validate_list(resp.json())


def _phases(client: Any, run: Any) -> dict[str, float]:
    """Seconds from scheduled to claimed by the worker (its poll), claimed to Running (the
    new process: interpreter, imports, flow load) and Running to Completed (the flow body,
    the embedding model's load included)."""
    at = {s.type.value: s.timestamp for s in client.read_flow_run_states(run.id)}
    return {"poll": round((at["PENDING"] - run.expected_start_time).total_seconds(), 1),
            "process": round((at["RUNNING"] - at["PENDING"]).total_seconds(), 1),
            "body": round((at["COMPLETED"] - at["RUNNING"]).total_seconds(), 1)}


def test_deploy_all_then_a_process_worker_runs_deployments_and_triggered_runs(
        pool_world: PoolWorld) -> None:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    db, env = pool_world.database_url, pool_world.env
    key = "c-wp-1"
    insert_candidate(db, key)

    with temporary_settings({PREFECT_API_URL: pool_world.api_url}), \
            get_client(sync_client=True) as client:
        # `prefect deploy --all` put every deployment of prefect.yaml on the pool, and the
        # triggers became automations of the server.
        deployments = {d.name: d for d in client.read_deployments()}
        assert set(deployments) == {"materialize", "candidate-pipeline", "job-pipeline",
                                    "new-rows-sensor", "reconcile", "talent-batch"}
        assert {d.work_pool_name for d in deployments.values()} == {POOL}
        # `pull: null` in prefect.yaml: deploy records the directory it ran in, and the
        # worker's run process changes into it to load `flows/...py` entrypoints.
        assert {json.dumps(d.pull_steps) for d in deployments.values()} == {json.dumps(
            [{"prefect.deployments.steps.set_working_directory": {"directory": str(REPO)}}])}
        resp = client.request("POST", "/automations/filter", json={})
        resp.raise_for_status()
        automations = {a["name"] for a in resp.json()}
        assert {"candidate-pipeline__automation_1", "job-pipeline__automation_1",
                "reconcile__automation_1"} <= automations, automations

        # (a) By hand, as the operator does: the engine's flow, on the worker.
        out = _cli(env, str(BIN / "prefect"), "deployment", "run", "materialize/materialize",
                   "--param", 'assets=["normalized_candidates","candidate_vectors"]',
                   "--param", f"partition_key={key}")
        by_hand = _wait_final(client, run_id_from(out.stdout), pool_world.worker_log)
        assert by_hand.state.is_completed(), by_hand.state
        assert by_hand.work_pool_name == POOL and by_hand.infrastructure_pid, by_hand
        for asset in ("normalized_candidates", "candidate_vectors"):
            [m] = materializations(db, asset, key)
            assert m["status"] == "materialized", m
            assert m["flow_run_id"] == str(by_hand.id)
        with psycopg.connect(db) as conn:
            (dims,) = conn.execute("SELECT vector_dims(embedding) FROM candidate_vectors "
                                   "WHERE candidate_id = %s", (key,)).fetchone()
        assert dims == 384  # MiniLM, loaded in the run's own process

        # (b) A change of the row; the sensor tick (what serve does on NOTIFY, here the CLI)
        # emits the event, the server's trigger creates the run, the worker executes it.
        first_norm = materializations(db, "normalized_candidates", key)[0]
        with psycopg.connect(db) as conn:
            conn.execute("UPDATE candidates SET cv_text = %s WHERE id = %s",
                         ("Data engineer: Spark, Airflow, dbt and PostgreSQL, 6 years.", key))
        tick = json.loads(_cli(env, str(BIN / "talentflow"), "sensor", "tick").stdout)
        assert tick["events"] == 1 and not tick["batch_runs"], tick
        deadline = time.monotonic() + 30  # event -> automation -> flow run: ~0.5 s here
        while not (runs := [r for r in _runs_of(client, PIPELINE)
                            if r.parameters == {"candidate_id": key}]):
            assert time.monotonic() < deadline, "the trigger created no candidate-pipeline run"
            time.sleep(0.5)
        [triggered] = runs
        assert triggered.created_by is not None and triggered.created_by.type == "AUTOMATION"
        triggered = _wait_final(client, str(triggered.id), pool_world.worker_log)
        assert triggered.state.is_completed(), triggered.state
        assert triggered.work_pool_name == POOL and triggered.infrastructure_pid, triggered
        norm = [m for m in materializations(db, "normalized_candidates", key)
                if m["id"] > first_norm["id"]]
        assert [m["status"] for m in norm] == ["materialized"], norm
        assert norm[0]["flow_run_id"] == str(triggered.id)
        assert norm[0]["data_version"] != first_norm["data_version"]
        [matches] = materializations(db, "candidate_matches", key)
        assert matches["status"] == "materialized" and matches["flow_run_id"] == str(
            triggered.id)

        # Each run had a process of its own (what a process worker costs per run).
        assert by_hand.infrastructure_pid != triggered.infrastructure_pid
        # What docs/operations.md quotes: where the time of a run on a process worker goes.
        figures = {name: _phases(client, run) for name, run in
                   (("by hand", by_hand), ("triggered", triggered))}
    print(f"\nwork pool runs (s): {figures}; load average {os.getloadavg()}")
