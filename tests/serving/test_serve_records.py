"""What serve records and what a restart does with it, against stand-in processes (no Prefect
server): adopt our orphan, replace it when configured differently, refuse a foreign server in
one line, drop the record of a dead one, never signal a reused pid; one serve per state folder;
the server's environment (UI API URL, quiet scheduler, auth string)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from talentflow.serving import recovery
from talentflow.serving import server as srv_mod
from talentflow.serving.state import (
    AlreadyServing,
    ProcessRef,
    ServeFiles,
    pid_alive,
    process_start_ticks,
    read_json,
    write_json,
)

FAKE_PREFECT = textwrap.dedent("""
    # A stand-in for `prefect server start --host H --port P`: answers /api/health, /api/ready.
    import sys
    from http.server import BaseHTTPRequestHandler, HTTPServer
    host, port = sys.argv[sys.argv.index("--host") + 1], int(sys.argv[sys.argv.index("--port") + 1])
    class H(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path in ("/api/health", "/api/ready") else 404)
            self.end_headers()
            self.wfile.write(b"true")
        def log_message(self, *a):
            pass
    HTTPServer((host, port), H).serve_forever()
""")


@pytest.fixture
def fake_prefect(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`launch` starts the stand-in (a file named `prefect`, so its command line reads like
    the real one) and never touches a database."""
    script = tmp_path / "bin" / "prefect"
    script.parent.mkdir()
    script.write_text(FAKE_PREFECT)
    monkeypatch.setattr(srv_mod, "_prefect_command", lambda: [sys.executable, str(script)])
    monkeypatch.setenv("PREFECT_SERVER_DATABASE_CONNECTION_URL", "postgresql+asyncpg://x/y")
    for name in ("PREFECT_API_URL", "PREFECT_UI_API_URL", "PREFECT_SERVER_UI_API_URL",
                 "PREFECT_SERVER_API_AUTH_STRING"):
        monkeypatch.delenv(name, raising=False)
    return script


@pytest.fixture
def files(tmp_path: Path) -> ServeFiles:
    return ServeFiles(tmp_path / "state")


def _start(files: ServeFiles, tmp_path: Path, port: int, **kw) -> srv_mod.PrefectServer:
    return srv_mod.connect_or_start(state_dir=files.dir.parent, home=tmp_path / "home",
                                    port=port, files=files, **kw).wait_healthy(30)


def test_a_restart_adopts_the_server_our_dead_serve_left(fake_prefect, files, tmp_path) -> None:
    port = srv_mod.free_port()
    first = _start(files, tmp_path, port)
    record = read_json(files.prefect_server)
    assert first.how == "started" and record["pid"] == first.pid and record["port"] == port
    # The serve that started it dies (nothing stops the server): the next one adopts it.
    again = _start(files, tmp_path, port)
    try:
        assert again.how == "adopted" and again.pid == first.pid and again.owned
        assert read_json(files.prefect_server)["adopted_by"] == os.getpid()
    finally:
        again.stop()
    assert not ProcessRef(record["pid"], record["pid_started"]).alive()
    assert not files.prefect_server.exists()
    first.stop()  # reaps our child; nothing left to signal


def test_a_restart_replaces_our_server_when_configured_differently(fake_prefect, files,
                                                                   tmp_path) -> None:
    port = srv_mod.free_port()
    first = _start(files, tmp_path, port)
    old = ProcessRef(first.pid, process_start_ticks(first.pid))
    again = _start(files, tmp_path, port, auth_string="ops:secret")
    try:
        assert again.how == "replaced" and again.pid != old.pid
        assert not old.alive()
        record = read_json(files.prefect_server)
        assert record["pid"] == again.pid and record["auth"] is True
        assert "secret" not in json.dumps(record)  # only a fingerprint of it
    finally:
        again.stop()
        first.stop()


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200 if self.path == "/api/health" else 404)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_a_foreign_server_on_our_port_is_one_clear_line(fake_prefect, files, tmp_path) -> None:
    httpd = HTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    port = httpd.server_address[1]
    try:
        with pytest.raises(srv_mod.ServerUnavailable) as err:
            _start(files, tmp_path, port)
        message = str(err.value)
        assert "\n" not in message and "not started by this state folder" in message
        assert srv_mod.healthy(srv_mod.api_url_for("127.0.0.1", port))  # left alone
    finally:
        httpd.shutdown()


def test_a_port_taken_by_something_else_is_one_clear_line(fake_prefect, files,
                                                          tmp_path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(srv_mod.ServerUnavailable, match="in use by another program"):
            _start(files, tmp_path, s.getsockname()[1])


def test_the_record_of_a_dead_server_is_dropped(files) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    write_json(files.prefect_server, {"pid": gone.pid, "pid_started": 1, "api_url": "x"})
    assert srv_mod.adopt_or_clear(files, host="127.0.0.1", port=1, env={}) is None
    assert not files.prefect_server.exists()


def test_a_reused_pid_is_never_signalled(files) -> None:
    # A live process under the recorded pid, but not the one recorded (another start time).
    other = subprocess.Popen(["sleep", "30"])
    try:
        started = process_start_ticks(other.pid)
        write_json(files.prefect_server, {"pid": other.pid, "pid_started": (started or 0) + 7,
                                          "api_url": "http://127.0.0.1:1/api"})
        assert srv_mod.adopt_or_clear(files, host="127.0.0.1", port=1, env={}) is None
        time.sleep(0.2)
        assert other.poll() is None  # still running: never signalled
    finally:
        other.kill()
        other.wait()


def test_server_environment_names_its_port_and_stays_quiet(monkeypatch, tmp_path) -> None:
    for name in ("PREFECT_UI_API_URL", "PREFECT_SERVER_UI_API_URL",
                 *srv_mod.SCHEDULER_DEFAULTS):
        monkeypatch.delenv(name, raising=False)
    env = srv_mod.server_environment(home=tmp_path, host="127.0.0.1", port=4284,
                                     auth_string="u:p")
    assert env["PREFECT_UI_API_URL"] == env["PREFECT_SERVER_UI_API_URL"] \
        == "http://127.0.0.1:4284/api"
    assert env["PREFECT_SERVER_API_PORT"] == "4284"
    assert env["PREFECT_SERVER_SERVICES_SCHEDULER_MIN_RUNS"] == "1"
    assert env["PREFECT_SERVER_SERVICES_SCHEDULER_MAX_RUNS"] == "2"
    assert env["PREFECT_SERVER_API_AUTH_STRING"] == "u:p"
    assert env["PREFECT_API_URL"] == ""
    # What the operator set wins.
    monkeypatch.setenv("PREFECT_UI_API_URL", "https://prefect.example.com/api")
    monkeypatch.setenv("PREFECT_SERVER_SERVICES_SCHEDULER_MAX_RUNS", "50")
    env = srv_mod.server_environment(home=tmp_path, host="0.0.0.0", port=4284)
    assert env["PREFECT_SERVER_UI_API_URL"] == "https://prefect.example.com/api"
    assert env["PREFECT_SERVER_SERVICES_SCHEDULER_MAX_RUNS"] == "50"
    assert "PREFECT_SERVER_API_AUTH_STRING" not in env or env[
        "PREFECT_SERVER_API_AUTH_STRING"] == os.environ.get("PREFECT_SERVER_API_AUTH_STRING")


def test_the_fingerprint_changes_with_what_the_server_is(tmp_path) -> None:
    def fp(**kw) -> str:
        args = {"home": tmp_path, "host": "127.0.0.1", "port": 4200, **kw}
        return srv_mod.fingerprint(srv_mod.server_environment(**args), args["host"],
                                   args["port"])

    assert fp() == fp()
    assert len({fp(), fp(port=4201), fp(auth_string="a:b"), fp(ui=False),
                fp(database_url="postgresql+asyncpg://other/db")}) == 5


LOCK_HOLDER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from talentflow.serving.state import ServeFiles, write_json
    files = ServeFiles(Path(sys.argv[1]))
    files.acquire()
    write_json(files.serve, {"pid": os.getpid()})
    print("locked", flush=True)
    time.sleep(60)
""")


def test_one_serve_per_state_folder_and_a_killed_one_lets_go(tmp_path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(AlreadyServing, match=f"pid {holder.pid}"):
            ServeFiles(tmp_path).acquire()
        holder.kill()  # SIGKILL: the kernel releases the lock
        holder.wait(10)
        files = ServeFiles(tmp_path)
        files.acquire()
        files.release()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_the_previous_serve_is_recovered_only_when_dead(files) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    write_json(files.serve, {"pid": dead.pid, "pid_started": 1})
    write_json(files.runs, {"pid": dead.pid, "runs": {"r-1": {"name": "batch"}}})
    previous = recovery.previous_serve(files)
    assert previous["pid"] == dead.pid and previous["runs"] == {"r-1": {"name": "batch"}}
    me = ProcessRef.of(os.getpid())
    write_json(files.serve, {"pid": me.pid, "pid_started": me.started})
    write_json(files.runs, {"pid": me.pid, "pid_started": me.started, "runs": {}})
    assert recovery.previous_serve(files) is None
    files.remove(files.serve, files.runs)
    assert recovery.previous_serve(files) is None  # a clean stop leaves nothing


def test_process_refs() -> None:
    me = ProcessRef.of(os.getpid())
    assert me.alive() and pid_alive(os.getpid())
    assert not ProcessRef(os.getpid(), (me.started or 0) + 1).alive() or me.started is None
    assert not ProcessRef(0).alive()


def test_the_dead_serves_runs_are_settled_by_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Running -> Crashed; Pending (claimed, never started) -> Scheduled again, for this serve;
    Scheduled and finished runs are left alone."""
    import uuid as uuid_mod
    from types import SimpleNamespace

    import prefect.client.orchestration as orchestration
    from prefect.states import Completed, Pending, Running, Scheduled

    runs = {str(uuid_mod.uuid4()): state for state in
            (Running(), Pending(), Scheduled(), Completed())}
    set_calls: dict[str, str] = {}

    class Client:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read_flow_run(self, run_id):
            return SimpleNamespace(state=runs[str(run_id)])

        def set_flow_run_state(self, run_id, state, force):
            assert force
            set_calls[str(run_id)] = state.type.value

    monkeypatch.setattr(orchestration, "get_client", lambda sync_client=True: Client())
    ids = list(runs)
    marked = recovery.crash_previous_runs(
        {"pid": 4242, "runs": {i: {"name": f"r{n}"} for n, i in enumerate(ids)}})
    assert marked == [ids[0]]
    assert set_calls == {ids[0]: "CRASHED", ids[1]: "SCHEDULED"}


def test_a_run_is_reported_before_it_is_claimed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A serve killed between claiming a run (Pending) and starting it must have written the
    run down already."""
    import uuid as uuid_mod
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from talentflow.serving.runner import WarmRunner

    dep = uuid_mod.uuid4()
    runner = WarmRunner({dep: object()}, workers=1, poll_s=60)
    reported: list[dict] = []
    runner.on_change = lambda runs: reported.append(runs)
    at_claim: list[dict] = []

    def claim(client, run):
        at_claim.append(dict(reported[-1]))
        return False  # another runner got it

    monkeypatch.setattr(runner, "_claim", claim)
    now = datetime.now(UTC)
    run = SimpleNamespace(id=uuid_mod.uuid4(), deployment_id=dep, parameters={},
                          next_scheduled_start_time=now, created=now, name="r")

    class Client:
        def get_scheduled_flow_runs_for_deployments(self, deployment_ids, scheduled_before):
            return [run]

    assert runner.poll_once(Client()) == 0
    assert str(run.id) in at_claim[0]  # written down before the claim was proposed
    assert reported[-1] == {}  # and dropped when the claim failed
    runner.stop(wait_s=1)


def test_servers_bind_the_loopback_unless_told_otherwise(monkeypatch) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert srv_mod.target_address(None, None)[:2] == ("127.0.0.1", 4200)
    assert srv_mod.target_address(None, 4284)[:2] == ("127.0.0.1", 4284)
    monkeypatch.setenv("PREFECT_API_URL", "http://localhost:4300/api")
    assert srv_mod.target_address(None, None)[:2] == ("localhost", 4300)
    monkeypatch.setenv("PREFECT_API_URL", "http://prefect.example.com:4200/api")
    assert srv_mod.target_address(None, None)[:2] == ("127.0.0.1", 4200)
    assert srv_mod.target_address("0.0.0.0", None)[:2] == ("0.0.0.0", 4200)
