"""`talentflow serve` under faults, with real processes (docs/operations.md):

1. `kill -9` of the serve process alone (as an OOM killer would) in the middle of a batch run;
   the same command again comes up (adopting the Prefect server it left), marks the dead run
   Crashed, and every row inserted before the kill (and one inserted while it was dead) gets
   materialized; nothing of the old serve is left; SIGTERM then stops everything.
2. The embedded PostgreSQL stopped (`pg_ctl stop -m immediate`) in the middle of a batch run:
   serve starts it again by itself, the broken run does not stay Running, and a new row is
   materialized within a bounded time.
3. A Prefect server started on a non-default port tells the UI that port; with an auth string
   a client without it gets 401 (health probes excepted).

Each serve here is the production setup: its own state folder (embedded PostgreSQL started by
serve, the Prefect server's database in it), no PREFECT_API_URL, no DATABASE_URL. Every wait
is bounded; every process started is stopped at the end, failed test or not. Timings are
printed (run with -s to see them).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from talentflow.serving import server as prefect_server
from talentflow.serving.state import ProcessRef, pid_alive, process_group, read_json
from tests.e2e.conftest import REPO

pytestmark = pytest.mark.e2e

READY_S = 240.0  # bound on start -> READY line (cold is ~15 s here)
WAIT_S = 180.0  # bound on "materialized" / "Crashed" / "recovered"
AUTH = ("tf-operator", "s3cret-e2e")
BATCH = 120  # rows in the batch a fault interrupts: several seconds of work


class Serve:
    """One state folder and the `talentflow serve` processes started on it."""

    def __init__(self, root: Path, *, auth: bool = False) -> None:
        self.root = root
        self.state = root / "state"
        self.port = prefect_server.free_port()
        self.auth = auth
        self.procs: list[subprocess.Popen] = []
        self.logs: list[Path] = []
        self.server_pids: set[int] = set()
        self.postmaster_pids: set[int] = set()
        self.failed = False

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Marks the harness failed (its folder and logs kept) if the body raises."""
        try:
            yield
        except BaseException:
            self.failed = True
            raise

    @property
    def api_url(self) -> str:
        return prefect_server.api_url_for("127.0.0.1", self.port)

    def env(self) -> dict[str, str]:
        drop = {"PREFECT_API_URL", "DATABASE_URL", "PREFECT_API_AUTH_STRING",
                "PREFECT_SERVER_API_AUTH_STRING", "PREFECT_SERVER_DATABASE_CONNECTION_URL"}
        env = {k: v for k, v in os.environ.items() if k not in drop}
        env.update(TALENTFLOW_HOME=str(self.state), PREFECT_HOME=str(self.state / "prefect"),
                   TALENTFLOW_SENSOR_BURST="3", PREFECT_LOGGING_LEVEL="INFO")
        if self.auth:
            env["PREFECT_SERVER_API_AUTH_STRING"] = ":".join(AUTH)
        return env

    def command(self) -> list[str]:
        return [sys.executable, "-c", "from talentflow.cli import main; main()", "serve",
                "--no-ui", "--port", str(self.port), "--poll", "0.2", "--watch-interval", "0.5",
                "--grace", "20"]

    def start(self) -> tuple[subprocess.Popen, float]:
        """Start serve; return it and the seconds to its READY line."""
        from talentflow.cli.serve import READY_LINE

        log = self.root / f"serve-{len(self.procs) + 1}.log"
        t0 = time.monotonic()
        with open(log, "wb") as out:
            proc = subprocess.Popen(self.command(), cwd=REPO, env=self.env(), stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        self.procs.append(proc)
        self.logs.append(log)
        deadline = t0 + READY_S
        while time.monotonic() < deadline:
            self._note_pids()
            text = log.read_text(errors="replace")
            if READY_LINE in text:
                self._note_pids()
                return proc, time.monotonic() - t0
            if proc.poll() is not None:
                raise AssertionError(f"serve exited with {proc.returncode}:\n{text[-4000:]}")
            time.sleep(0.2)
        raise AssertionError(f"serve not ready after {READY_S:.0f} s; log {log}")

    def _note_pids(self) -> None:
        rec = read_json(self.state / "serve" / "prefect-server.json")
        if rec and isinstance(rec.get("pid"), int):
            self.server_pids.add(rec["pid"])
        pm = self.postmaster_pid()
        if pm:
            self.postmaster_pids.add(pm)

    def postmaster_pid(self) -> int | None:
        try:
            pid = int((self.state / "pgdata" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if pid_alive(pid) else None

    def database_url(self, database: str = "talentflow") -> str:
        lines = (self.state / "pgdata" / "postmaster.pid").read_text().splitlines()
        return f"postgresql://postgres@/{database}?host={lines[4].strip()}"

    def log_text(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-6000:]}"
                         for p in self.logs if p.exists())

    def cleanup(self) -> None:
        """Stop everything any serve here started, whatever state the test left it in."""
        for proc in self.procs:
            if proc.poll() is None:
                _signal_group(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    _signal_group(proc.pid, signal.SIGKILL)
                    proc.wait(10)
        self._note_pids()
        for pid in self.server_pids:
            if pid_alive(pid):
                _signal_group(pid, signal.SIGTERM)
                _wait_dead(pid, 20) or _signal_group(pid, signal.SIGKILL)
        for pid in self.postmaster_pids:
            if pid_alive(pid):
                os.kill(pid, signal.SIGQUIT)  # PostgreSQL's immediate shutdown
                _wait_dead(pid, 20) or os.kill(pid, signal.SIGKILL)


def _signal_group(pid: int, sig: int) -> None:
    try:
        if process_group(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _wait_dead(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    return False


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and process_group(int(entry.name)) == pgid \
                and pid_alive(int(entry.name)):
            members.append(int(entry.name))
    return members


@pytest.fixture
def harness() -> Iterator[Serve]:
    """A Serve on a fresh state folder; every process stopped at the end. The folder (logs,
    database) is kept when the test failed, and its path printed."""
    # Unix socket paths are short: keep the state folder near the root of /tmp.
    root = Path("/tmp") / f"tf-faults-{uuid.uuid4().hex[:8]}"
    root.mkdir()
    s = Serve(root, auth=True)
    try:
        yield s
    finally:
        s.cleanup()
        if s.failed or os.environ.get("TALENTFLOW_KEEP_FAULT_DIRS"):
            print(f"\n[serve faults] kept {root}:\n{s.log_text()[-8000:]}")
        else:
            shutil.rmtree(root, ignore_errors=True)


# -- helpers --------------------------------------------------------------------------------
def insert_candidates(db: str, keys: list[str]) -> None:
    with psycopg.connect(db) as conn:  # one transaction: one NOTIFY, one burst
        for k in keys:
            conn.execute("INSERT INTO candidates (id, name, location, cv_text) VALUES "
                         "(%s, %s, 'Berlin', %s)",
                         (k, f"Name {k}", f"Backend engineer {k}: Python, Go, PostgreSQL, "
                                          "Kafka and AWS, 7 years."))


def insert_job(db: str, key: str) -> None:
    with psycopg.connect(db) as conn:
        conn.execute("INSERT INTO jobs (id, title, company, location, description) VALUES "
                     "(%s, 'Backend Engineer', 'Paymo', 'Berlin', "
                     "'Python, Go, PostgreSQL and Kafka for payments.')", (key,))


def materialized(db: str, keys: list[str], asset: str = "candidate_matches") -> set[str]:
    try:
        with psycopg.connect(db, connect_timeout=3) as conn:
            rows = conn.execute(
                "SELECT DISTINCT partition_key FROM materializations WHERE asset = %s "
                "AND status = 'materialized' AND partition_key = ANY(%s)",
                (asset, keys)).fetchall()
    except psycopg.OperationalError:
        return set()
    return {r[0] for r in rows}


def wait_materialized(db: str, keys: list[str], timeout: float = WAIT_S) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if materialized(db, keys) == set(keys):
            return time.monotonic() - t0
        time.sleep(0.25)
    missing = sorted(set(keys) - materialized(db, keys))
    raise AssertionError(f"{len(missing)} key(s) not materialized within {timeout} s: "
                         f"{missing[:10]}")


def wait_claimed(db: str, keys: list[str], timeout: float = 60.0) -> str:
    """The flow run id of a live claim on one of the keys: a run is computing them now."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with psycopg.connect(db) as conn:
            row = conn.execute("SELECT flow_run_id FROM partition_claims WHERE partition_key "
                               "= ANY(%s) AND flow_run_id IS NOT NULL LIMIT 1",
                               (keys,)).fetchone()
        if row:
            return row[0]
        time.sleep(0.05)
    raise AssertionError(f"no run claimed any of {keys[:3]}... within {timeout} s")


def flow_run(api: str, run_id: str) -> dict[str, Any]:
    resp = httpx.get(f"{api}/flow_runs/{run_id}", auth=AUTH, timeout=10)
    resp.raise_for_status()
    return resp.json()


def wait_state(api: str, run_id: str, ok: Any, timeout: float = WAIT_S) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    run: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            run = flow_run(api, run_id)
            if ok(run["state_type"]):
                return run
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"flow run {run_id} still {run.get('state_type')} after {timeout} s")


def wait_health(serve: Serve, predicate: Any, timeout: float = WAIT_S) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    health: dict[str, Any] = {}
    while time.monotonic() < deadline:
        health = read_json(serve.state / "serve" / "health.json") or {}
        if predicate(health):
            return health
        time.sleep(0.1)
    raise AssertionError(f"health never as expected within {timeout} s: {health}")


def stop_and_check_everything_stopped(serve: Serve, proc: subprocess.Popen) -> float:
    server_pid = read_json(serve.state / "serve" / "prefect-server.json")["pid"]
    postmaster = serve.postmaster_pid()
    t0 = time.monotonic()
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(90) == 0, serve.log_text()
    took = time.monotonic() - t0
    assert _wait_dead(server_pid, 10), f"Prefect server {server_pid} left running"
    assert postmaster is None or _wait_dead(postmaster, 10), "PostgreSQL left running"
    for name in ("serve.json", "prefect-server.json", "runs.json"):
        assert not (serve.state / "serve" / name).exists(), name
    assert read_json(serve.state / "serve" / "health.json")["status"] == "stopped"
    return took


# -- 1. kill -9 -----------------------------------------------------------------------------
def test_kill_9_then_the_same_command_recovers(harness: Serve) -> None:
    with harness.watching():
        _kill_9_then_the_same_command_recovers(harness)


def _kill_9_then_the_same_command_recovers(harness: Serve) -> None:
    first, cold_s = harness.start()
    db = harness.database_url()
    old_server = read_json(harness.state / "serve" / "prefect-server.json")
    insert_job(db, "j-kill-1")
    keys = [f"c-kill-{i:03d}" for i in range(BATCH)]
    insert_candidates(db, keys)
    batch_run = wait_claimed(db, keys)
    assert flow_run(harness.api_url, batch_run)["state_type"] == "RUNNING"

    os.kill(first.pid, signal.SIGKILL)  # the serve process only, as an OOM killer would
    first.wait(10)
    killed_at = time.monotonic()
    assert materialized(db, keys) != set(keys), "the batch finished before the kill"
    # What it left: the Prefect server (own process group) and PostgreSQL, both still up.
    assert ProcessRef(old_server["pid"], old_server["pid_started"]).alive()
    late = "c-kill-late"  # written while no serve runs: found by the sensor after restart
    insert_candidates(db, [late])

    second, warm_s = harness.start()
    log = harness.logs[-1].read_text()
    assert "adopted" in log and f"previous serve (pid {first.pid})" in log, log
    crashed = wait_state(harness.api_url, batch_run, lambda s: s == "CRASHED")
    assert str(first.pid) in crashed["state"]["message"]
    done_s = wait_materialized(db, [*keys, late])
    recovered_s = time.monotonic() - killed_at

    # Nothing of the old serve is left: its pid, its process group, its records.
    assert not pid_alive(first.pid)
    assert _group_members(first.pid) == []
    serve_rec = read_json(harness.state / "serve" / "serve.json")
    assert serve_rec["pid"] == second.pid
    server_rec = read_json(harness.state / "serve" / "prefect-server.json")
    if server_rec["pid"] == old_server["pid"]:  # adopted: ours now
        assert server_rec["adopted_by"] == second.pid
    else:  # replaced: the old one is gone
        assert not ProcessRef(old_server["pid"], old_server["pid_started"]).alive()
    runs = read_json(harness.state / "serve" / "runs.json")
    assert runs["pid"] == second.pid and batch_run not in runs["runs"]

    stop_s = stop_and_check_everything_stopped(harness, second)
    print(f"\n[serve faults] kill -9: cold ready {cold_s:.1f} s, restart ready {warm_s:.1f} s, "
          f"all {BATCH + 1} rows materialized {recovered_s:.1f} s after the kill "
          f"({done_s:.1f} s after ready), SIGTERM stop {stop_s:.1f} s")


# -- 2. PostgreSQL stopped mid-run ----------------------------------------------------------
def _pg_ctl_stop_immediate(serve: Serve) -> None:
    from talentflow.db import embedded

    subprocess.run([str(embedded.pg_ctl_path()), "-D", str(serve.state / "pgdata"), "stop",
                    "-m", "immediate"], check=True, capture_output=True, timeout=60,
                   user=embedded.system_user())


def test_postgres_stopped_mid_run_recovers_by_itself(harness: Serve) -> None:
    with harness.watching():
        _postgres_stopped_mid_run_recovers_by_itself(harness)


def _postgres_stopped_mid_run_recovers_by_itself(harness: Serve) -> None:
    proc, ready_s = harness.start()
    db = harness.database_url()
    keys = [f"c-pg-{i:03d}" for i in range(BATCH)]
    insert_candidates(db, keys)
    batch_run = wait_claimed(db, keys)
    postmaster = harness.postmaster_pid()

    _pg_ctl_stop_immediate(harness)
    stopped_at = time.monotonic()
    assert not pid_alive(postmaster)
    health = wait_health(harness, lambda h: h.get("database", {}).get("restarts", 0) >= 1
                         and h.get("status") == "ok")
    back_s = time.monotonic() - stopped_at
    assert harness.postmaster_pid() not in (None, postmaster)
    # The broken run does not stay Running for good.
    final = wait_state(harness.api_url, batch_run,
                       lambda s: s in ("COMPLETED", "FAILED", "CRASHED"))
    final_s = time.monotonic() - stopped_at

    t0 = time.monotonic()
    insert_candidates(db, ["c-pg-after"])
    wait_materialized(db, ["c-pg-after"], timeout=90)
    new_row_s = time.monotonic() - t0
    # The batch the outage broke is redone by itself (claims expired, reconcile kicked).
    wait_materialized(db, keys)
    batch_s = time.monotonic() - stopped_at
    # The health probe an orchestrator runs agrees.
    check = subprocess.run(
        [sys.executable, "-c", "from talentflow.cli import main; main()", "serve", "--health"],
        cwd=REPO, env=harness.env(), capture_output=True, text=True, timeout=60)
    assert check.returncode == 0 and check.stdout.startswith("ok"), check.stdout + check.stderr
    stop_and_check_everything_stopped(harness, proc)
    print(f"\n[serve faults] PostgreSQL stop: ready {ready_s:.1f} s, database answering again "
          f"{back_s:.1f} s after the stop (restarts {health['database']['restarts']}), batch "
          f"run {final['state_type']} {final_s:.1f} s after, a new row materialized in "
          f"{new_row_s:.1f} s, the broken batch's {BATCH} rows {batch_s:.1f} s after the stop")


# -- 3. UI port, auth, loopback -------------------------------------------------------------
def _listening(port: int) -> set[str]:
    """The IPv4 addresses something listens on at `port` (from /proc/net/tcp)."""
    import ipaddress
    import socket
    import struct

    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        addr, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
            packed = struct.pack("<I", int(addr, 16))
            found.add(str(ipaddress.IPv4Address(socket.inet_ntoa(packed))))
    return found


def test_ui_settings_name_the_port_and_auth_is_required(pg_server_url: str,
                                                        tmp_path: Path) -> None:
    name = f"prefect_auth_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(pg_server_url)
    libpq = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
    port = prefect_server.free_port()
    assert port != prefect_server.DEFAULT_PORT
    srv = prefect_server.start(home=tmp_path / "server", port=port, ui=True,
                               database_url="postgresql+asyncpg://" + libpq.split("://", 1)[1],
                               auth_string=":".join(AUTH))
    try:
        base = srv.api_url.removesuffix("/api")
        settings = httpx.get(f"{base}/ui-settings", timeout=10).json()
        assert settings["api_url"] == f"http://127.0.0.1:{port}/api"
        assert settings["auth"] == "BASIC"
        assert httpx.get(f"{srv.api_url}/health", timeout=10).status_code == 200
        assert httpx.post(f"{srv.api_url}/flows/filter", json={},
                          timeout=10).status_code == 401
        assert httpx.post(f"{srv.api_url}/flows/filter", json={}, auth=("x", "y"),
                          timeout=10).status_code == 401
        assert httpx.post(f"{srv.api_url}/flows/filter", json={}, auth=AUTH,
                          timeout=10).status_code == 200
        # It listens on the loopback interface only.
        assert _listening(port) == {"127.0.0.1"}
        # The server's command line (what `ps` shows) does not carry the secret.
        from talentflow.serving.state import process_cmdline

        assert AUTH[1] not in " ".join(process_cmdline(srv.pid))
    finally:
        srv.stop()
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
