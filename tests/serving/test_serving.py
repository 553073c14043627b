"""talentflow serve's parts that need no Prefect server: finding or refusing a server, and the
warm runner's claiming (per-key serialization, worker limit) against a stand-in API."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import SimpleNamespace

import pytest

from talentflow.serving import server
from talentflow.serving.runner import WarmRunner


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(200 if self.path == "/api/health" else 404)
        self.end_headers()
        self.wfile.write(b"true")

    def log_message(self, *args) -> None:
        pass


def test_connects_to_an_api_that_answers(monkeypatch, tmp_path) -> None:
    httpd = HTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/api"
    try:
        assert server.healthy(url)
        monkeypatch.setenv("PREFECT_API_URL", url)
        found = server.connect_or_start(state_dir=tmp_path, home=tmp_path / "p")
        assert found.api_url == url and not found.started_here
        found.stop()  # not ours: nothing to stop, no error
    finally:
        httpd.shutdown()


def test_refuses_to_replace_a_remote_api_that_does_not_answer(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://prefect.example.invalid:4200/api")
    with pytest.raises(server.ServerUnavailable, match="not on this machine"):
        server.connect_or_start(state_dir=tmp_path, home=tmp_path / "p")


def test_nothing_answers_on_a_free_port() -> None:
    assert not server.healthy(server.api_url_for("127.0.0.1", server.free_port()))


class _FakeClient:
    def __init__(self, runs: list) -> None:
        self.runs = runs

    def get_scheduled_flow_runs_for_deployments(self, deployment_ids, scheduled_before):
        return [r for r in self.runs if r.deployment_id in deployment_ids]


def _run(dep: uuid.UUID, key: str) -> SimpleNamespace:
    now = datetime.now(UTC)
    return SimpleNamespace(id=uuid.uuid4(), deployment_id=dep, parameters={"candidate_id": key},
                           next_scheduled_start_time=now, created=now, name=f"run-{key}")


def test_runner_starts_one_run_per_key_and_queues_the_rest(monkeypatch) -> None:
    dep = uuid.uuid4()
    runner = WarmRunner({dep: object()}, workers=4, poll_s=60)
    release = threading.Event()
    started: list[str] = []
    monkeypatch.setattr(runner, "_claim", lambda client, run: True)

    def execute(run):
        started.append(run.parameters["candidate_id"])
        release.wait(5)

    monkeypatch.setattr(runner, "_execute", execute)
    first, dup, other = _run(dep, "c-1"), _run(dep, "c-1"), _run(dep, "c-2")
    client = _FakeClient([first, dup, other])
    assert runner.poll_once(client) == 2  # c-1 once, c-2; the second c-1 stays Scheduled
    assert runner.stats.deferred == 1
    client.runs = [dup]  # the server still lists it as Scheduled
    assert runner.poll_once(client) == 0  # c-1 still in flight
    release.set()
    for _ in range(100):
        if runner.in_flight() == 0:
            break
        threading.Event().wait(0.05)
    assert runner.poll_once(client) == 1  # now it runs, after the first
    release.set()
    runner.stop(wait_s=5)
    assert sorted(started) == ["c-1", "c-1", "c-2"]


def test_runner_never_takes_more_runs_than_workers(monkeypatch) -> None:
    dep = uuid.uuid4()
    runner = WarmRunner({dep: object()}, workers=2, poll_s=60)
    release = threading.Event()
    monkeypatch.setattr(runner, "_claim", lambda client, run: True)
    monkeypatch.setattr(runner, "_execute", lambda run: release.wait(5))
    client = _FakeClient([_run(dep, f"c-{i}") for i in range(5)])
    assert runner.poll_once(client) == 2
    assert runner.poll_once(client) == 0  # both workers busy: nothing more is claimed
    release.set()
    runner.stop(wait_s=5)
