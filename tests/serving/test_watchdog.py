"""serve's watchdog and health answers, and the warm runner's bookkeeping: the embedded
PostgreSQL started again after `pg_ctl stop -m immediate`; health.json, the HTTP endpoint and
`talentflow serve --health` agree; the runs in flight are reported; a run whose final state was
lost is marked Crashed; long parameter lists are summarized in logs."""

from __future__ import annotations

import os
import subprocess
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from talentflow.serving import watchdog as wd
from talentflow.serving.runner import WarmRunner, summarize_parameters
from talentflow.serving.state import ProcessRef, ServeFiles, read_json, write_json


def test_the_watchdog_starts_the_embedded_postgres_again(tmp_path: Path) -> None:
    from talentflow.db import embedded

    url = embedded.start(tmp_path)
    files = ServeFiles(tmp_path)
    dog = wd.Watchdog(files=files, database_url=url, state_dir=tmp_path, server=None)
    recovered = threading.Event()
    dog.on_recovered = recovered.set
    try:
        assert dog.check()["status"] == "ok"
        old = embedded.postmaster_pid(tmp_path)
        subprocess.run([str(embedded.pg_ctl_path()), "-D", str(embedded.pgdata(tmp_path)),
                        "stop", "-m", "immediate"], check=True, capture_output=True,
                       timeout=60, user=embedded.system_user())
        assert wd.probe_database(url) is not None
        status = dog.check()  # one probe: sees it down, starts it, sees it answer
        assert status["status"] == "ok" and status["database"]["restarts"] == 1
        assert embedded.postmaster_pid(tmp_path) not in (None, old)
        assert wd.probe_database(url) is None  # same URL: clients reconnect as they were
        assert recovered.is_set()
        assert read_json(files.health)["database"]["restarts"] == 1
    finally:
        assert embedded.release(tmp_path)  # the last handle: stopped
    assert not embedded.is_running(tmp_path)


def test_an_external_database_is_reported_not_restarted(tmp_path: Path) -> None:
    files = ServeFiles(tmp_path)
    dog = wd.Watchdog(files=files, database_url="postgresql://nobody@127.0.0.1:1/none",
                      state_dir=None, server=None)
    status = dog.check()
    assert status["status"] == "unhealthy" and status["database"]["restarts"] == 0
    assert status["database"]["error"]


def _health(files: ServeFiles, status: str = "ok", age_s: float = 0.0) -> None:
    me = ProcessRef.of(os.getpid())
    write_json(files.serve, {"pid": me.pid, "pid_started": me.started})
    write_json(files.health, {
        "status": status, "interval_s": 1.0, "pid": me.pid,
        "updated_at": (datetime.now(UTC) - timedelta(seconds=age_s)).isoformat(),
        "database": {"ok": status == "ok", "error": None if status == "ok" else "down"},
        "prefect_api": {"healthy": True, "ready": True, "url": "http://127.0.0.1:1/api"}})


def test_the_health_probe_exit_codes(tmp_path: Path) -> None:
    files = ServeFiles(tmp_path)
    code, line = wd.read_health(files)
    assert code == 2 and "not running" in line
    _health(files)
    assert wd.read_health(files)[0] == 0
    _health(files, status="unhealthy")
    code, line = wd.read_health(files)
    assert code == 1 and "DOWN" in line
    _health(files, age_s=600)  # a serve that stopped reporting is not healthy
    code, line = wd.read_health(files)
    assert code == 1 and "stuck" in line
    _health(files)
    health = read_json(files.health)
    write_json(files.health, {**health, "pid": 1})  # what a previous serve reported
    assert wd.read_health(files)[0] == 1
    write_json(files.health, {**health, "status": "starting"})
    code, line = wd.read_health(files)
    assert code == 1 and line.startswith("starting")


def test_the_health_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from talentflow.cli.app import app

    monkeypatch.setenv("TALENTFLOW_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["serve", "--health"])
    assert result.exit_code == 2, result.output
    _health(ServeFiles(tmp_path))
    result = CliRunner().invoke(app, ["serve", "--health"])
    assert result.exit_code == 0 and result.output.startswith("ok"), result.output


def test_the_http_health_endpoint(tmp_path: Path) -> None:
    dog = wd.Watchdog(files=ServeFiles(tmp_path), database_url="", state_dir=None, server=None)
    endpoint = wd.HealthEndpoint(dog, "127.0.0.1", 0)
    endpoint.start()
    try:
        url = f"http://127.0.0.1:{endpoint.port}/health"
        dog.status = {"status": "ok"}
        assert httpx.get(url, timeout=5).status_code == 200
        dog.status = {"status": "unhealthy", "database": {"ok": False}}
        answer = httpx.get(url, timeout=5)
        assert answer.status_code == 503 and answer.json()["database"]["ok"] is False
        assert httpx.get(url.replace("/health", "/other"), timeout=5).status_code == 404
    finally:
        endpoint.stop()


# -- the warm runner ------------------------------------------------------------------------
def test_long_parameter_lists_are_summarized() -> None:
    keys = [f"c-{i:05d}" for i in range(2000)]
    line = summarize_parameters({"candidate_ids": keys, "job_ids": []})
    assert len(line) <= 300
    assert "candidate_ids=[2000 items: \"c-00000\", \"c-00001\", \"c-00002\", ...]" in line
    assert "c-01999" not in line and "job_ids=[]" in line
    assert summarize_parameters({"candidate_id": "c-1"}) == '(candidate_id="c-1")'
    assert len(summarize_parameters({"text": "x" * 10_000})) <= 300


class _FakeClient:
    def __init__(self, runs: list) -> None:
        self.runs = runs

    def get_scheduled_flow_runs_for_deployments(self, deployment_ids, scheduled_before):
        return [r for r in self.runs if r.deployment_id in deployment_ids]


def test_the_runs_in_flight_are_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    dep = uuid.uuid4()
    runner = WarmRunner({dep: object()}, workers=2, poll_s=60)
    seen: list[dict] = []
    runner.on_change = lambda runs: seen.append(runs)
    release = threading.Event()
    monkeypatch.setattr(runner, "_claim", lambda client, run: True)
    monkeypatch.setattr(runner, "_execute", lambda run: release.wait(5))
    now = datetime.now(UTC)
    run = SimpleNamespace(id=uuid.uuid4(), deployment_id=dep, parameters={"k": 1},
                          next_scheduled_start_time=now, created=now, name="brave-run")
    assert runner.poll_once(_FakeClient([run])) == 1
    assert runner.executing()[str(run.id)]["name"] == "brave-run"
    assert str(run.id) in seen[-1]
    release.set()
    runner.stop(wait_s=5)
    assert seen[-1] == {} and runner.executing() == {}


def test_a_run_whose_final_state_was_lost_is_marked_crashed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import prefect.client.orchestration as orchestration

    calls: list = []
    states = iter([RuntimeError("API down"), "RUNNING"])

    class Client:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read_flow_run(self, run_id):
            got = next(states)
            if isinstance(got, Exception):
                raise got
            return SimpleNamespace(state=SimpleNamespace(is_final=lambda: False, name=got))

        def set_flow_run_state(self, run_id, state, force):
            calls.append((run_id, state.type.value, force))

    monkeypatch.setattr(orchestration, "get_client", lambda sync_client=True: Client())
    runner = WarmRunner({}, workers=1)
    run_id = uuid.uuid4()
    runner._ensure_final(run_id, "lost", retry_s=10)
    assert calls == [(run_id, "CRASHED", True)]
    assert runner.stats.crashed == 1
