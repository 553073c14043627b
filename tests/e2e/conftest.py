"""End-to-end fixtures: a REAL `prefect server start` on 127.0.0.1 and a REAL `talentflow serve`
connected to it, both started once for the e2e tests and stopped after them (package scope:
they do not keep polling while the rest of the suite runs).

The server's database is a `prefect_e2e_*` database on the same (embedded) PostgreSQL the
tests already run: the production default of `talentflow serve`, no "database is locked" 503s
under the bursts these tests create (SQLite gave them here, PREFECT_NOTES), and no second
service to start. A cold start (Prefect's migrations on an empty database) is ~10 s here.

`talentflow serve` runs as a subprocess with DATABASE_URL on one session database, a small
sensor burst size (3) so a burst test stays small, and its log in the session folder (the
path is printed when a fixture fails to start).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from talentflow.serving import server as prefect_server

REPO = Path(__file__).resolve().parents[2]
SERVE_READY_TIMEOUT_S = 240.0
E2E_BURST = 3


def _database_url(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


@dataclass(frozen=True)
class Served:
    api_url: str
    database_url: str  # the talentflow database `talentflow serve` works on
    prefect_home: Path
    log: Path

    def env(self) -> dict[str, str]:
        """Environment for a CLI subprocess talking to this server (prefect, talentflow)."""
        return {**os.environ, "PREFECT_API_URL": self.api_url, "DATABASE_URL": self.database_url,
                "PREFECT_HOME": str(self.prefect_home)}


@pytest.fixture(scope="package")
def e2e_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


def stop_process_group(proc: subprocess.Popen) -> None:
    """SIGTERM a process started with start_new_session=True and its children, then SIGKILL
    if it has not stopped within a minute."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def drop_database(pg_server_url: str, url: str) -> None:
    """Drop the database `url` names (a test database from tests.conftest.new_database)."""
    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def prefect_server_on_postgres(pg_server_url: str, home: Path
                               ) -> Iterator[prefect_server.PrefectServer]:
    """`prefect server start` on a free port of 127.0.0.1 with its own new `prefect_e2e_*`
    database, stopped and dropped on exit. Each server is a separate world: deployments,
    automations and flow runs of one are never seen (or claimed) by runners of another."""
    name = f"prefect_e2e_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    libpq = _database_url(pg_server_url, name)
    asyncpg_url = "postgresql+asyncpg://" + libpq.split("://", 1)[1]
    try:
        srv = prefect_server.start(home=home, database_url=asyncpg_url, ui=False)
        try:
            yield srv
        finally:
            srv.stop()
    finally:
        drop_database(pg_server_url, libpq)


@pytest.fixture(scope="package")
def e2e_server(pg_server_url: str, e2e_home: Path) -> Iterator[prefect_server.PrefectServer]:
    """`prefect server start` on a free port of 127.0.0.1, its database on PostgreSQL."""
    with prefect_server_on_postgres(pg_server_url, e2e_home / "server") as srv:
        yield srv


@pytest.fixture(scope="package")
def served(pg_server_url: str, migrated_template: str, e2e_server: prefect_server.PrefectServer,
           e2e_home: Path) -> Iterator[Served]:
    """`talentflow serve` connected to the e2e server, on its own migrated database."""
    from tests.conftest import new_database

    db_url = new_database(pg_server_url)
    home = e2e_home / "client"
    home.mkdir()
    log = e2e_home / "serve.log"
    env = {
        **os.environ,
        "PREFECT_API_URL": e2e_server.api_url,
        "PREFECT_HOME": str(home),
        "DATABASE_URL": db_url,
        "TALENTFLOW_SENSOR_BURST": str(E2E_BURST),
        "PREFECT_LOGGING_LEVEL": "INFO",
    }
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from talentflow.cli import main; main()", "serve",
             "--no-ui", "--workers", "4", "--poll", "0.2"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        _wait_ready(proc, log)
        yield Served(e2e_server.api_url, db_url, home, log)
    finally:
        stop_process_group(proc)
        drop_database(pg_server_url, db_url)


def _wait_ready(proc: subprocess.Popen, log: Path) -> None:
    from talentflow.cli.serve import READY_LINE

    deadline = time.monotonic() + SERVE_READY_TIMEOUT_S
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if READY_LINE in text:
            return
        if proc.poll() is not None:
            raise RuntimeError(f"talentflow serve exited with {proc.returncode}; log {log}:\n"
                               + "\n".join(text.splitlines()[-40:]))
        time.sleep(0.3)
    raise RuntimeError(f"talentflow serve not ready after {SERVE_READY_TIMEOUT_S:.0f} s; "
                       f"log {log}")


@pytest.fixture
def prefect_api(served: Served) -> Iterator[str]:
    """This test's Prefect client settings point at the e2e server (and only this test's:
    tests elsewhere keep the ephemeral API)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: served.api_url}):
        yield served.api_url
