"""A Prefect server to serve against: one that already answers, or `prefect server start` on
127.0.0.1 with its database in the embedded PostgreSQL (`prefect` database).

Why PostgreSQL and not the server's default SQLite: under a burst of task runs the SQLite
backend answered 503 "database is locked" (3 of 4 tries here, PREFECT_NOTES); on PostgreSQL
it did not. The embedded server is already running for talentflow's own data, so this costs a
`CREATE DATABASE`, not a second service.

Nothing here imports prefect: the server is a subprocess, health is one HTTP GET, so a caller
can choose PREFECT_API_URL before `import prefect` reads it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4200
START_TIMEOUT_S = 180.0  # a cold start (migrations of an empty database) took 30-45 s here


class ServerUnavailable(RuntimeError):
    """The Prefect server could not be reached or started; the message says why."""


@dataclass
class PrefectServer:
    """A Prefect API; `process` is set when we started it (and so must stop it)."""

    api_url: str
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    started_in_s: float = 0.0
    _log_file: object | None = field(default=None, repr=False)

    @property
    def started_here(self) -> bool:
        return self.process is not None

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the server if we started it (SIGTERM, then SIGKILL of its process group)."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
            except ProcessLookupError:
                pass
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> PrefectServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def healthy(api_url: str, timeout: float = 2.0) -> bool:
    """True if `<api_url>/health` answers 200."""
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def free_port(host: str = DEFAULT_HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def api_url_for(host: str, port: int) -> str:
    return f"http://{host}:{port}/api"


def prefect_database_url(state_dir: Path) -> str:
    """The server's SQLAlchemy URL: PREFECT_SERVER_DATABASE_CONNECTION_URL if the operator set
    one, else the `prefect` database of the embedded PostgreSQL (created on first use)."""
    explicit = os.environ.get("PREFECT_SERVER_DATABASE_CONNECTION_URL")
    if explicit:
        return explicit
    from talentflow.db import embedded

    libpq = embedded.start(state_dir, database="prefect")
    # postgresql://postgres:@/prefect?host=<socket dir>  ->  the asyncpg driver, same place.
    return "postgresql+asyncpg://" + libpq.split("://", 1)[1]


def _prefect_command() -> list[str]:
    # The `prefect` script next to this interpreter: the same installation as talentflow.
    script = Path(sys.executable).with_name("prefect")
    if script.exists():
        return [str(script)]
    found = shutil.which("prefect")
    if found:
        return [found]
    return [sys.executable, "-m", "prefect"]


def start(*, home: Path, host: str = DEFAULT_HOST, port: int | None = None,
          database_url: str | None = None, ui: bool = True, log_path: Path | None = None,
          timeout: float = START_TIMEOUT_S) -> PrefectServer:
    """Run `prefect server start` in its own process group and wait until it is healthy."""
    port = port or free_port(host)
    api_url = api_url_for(host, port)
    if healthy(api_url, timeout=1.0):
        raise ServerUnavailable(f"something already answers at {api_url}; not starting another")
    home.mkdir(parents=True, exist_ok=True)
    log_path = log_path or home / "server.log"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "true" if ui else "false",
        # The server must not try to talk to itself through a stale client setting.
        "PREFECT_API_URL": "",
    }
    if database_url:
        env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = database_url
    log_file = open(log_path, "ab")  # noqa: SIM115 - lives as long as the server
    started = time.monotonic()
    proc = subprocess.Popen(
        [*_prefect_command(), "server", "start", "--host", host, "--port", str(port)],
        env=env, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: stop() reaches uvicorn's children
    )
    server = PrefectServer(api_url, proc, log_path, _log_file=log_file)
    deadline = started + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            server.stop()
            raise ServerUnavailable(
                f"`prefect server start` exited with {proc.returncode}; last lines of "
                f"{log_path}:\n{_tail(log_path)}"
            )
        if healthy(api_url, timeout=1.0):
            server.started_in_s = round(time.monotonic() - started, 1)
            return server
        time.sleep(0.5)
    server.stop()
    raise ServerUnavailable(
        f"Prefect server at {api_url} not healthy after {timeout:.0f} s; last lines of "
        f"{log_path}:\n{_tail(log_path)}"
    )


def connect_or_start(*, state_dir: Path, home: Path, host: str | None = None,
                     port: int | None = None, ui: bool = True) -> PrefectServer:
    """PREFECT_API_URL if it answers; else start a server — at PREFECT_API_URL's host and port
    when that names this machine (so an exported URL keeps working for `prefect deployment
    run`), otherwise at host/port (default 127.0.0.1:4200)."""
    configured = os.environ.get("PREFECT_API_URL")
    if configured:
        if healthy(configured):
            return PrefectServer(configured)
        parts = urlsplit(configured)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ServerUnavailable(
                f"PREFECT_API_URL={configured} does not answer and is not on this machine; "
                "start that server, or unset PREFECT_API_URL to let talentflow start one"
            )
        host = host or parts.hostname
        port = port or parts.port
    return start(home=home, host=host or DEFAULT_HOST, port=port or DEFAULT_PORT,
                 database_url=prefect_database_url(state_dir), ui=ui)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
