"""A Prefect server to serve against: one that already answers, the one a previous `talentflow
serve` of this state folder started (adopted, or replaced), or `prefect server start` on
127.0.0.1 with its database in the embedded PostgreSQL (`prefect` database).

Why PostgreSQL and not the server's default SQLite: under a burst of task runs the SQLite
backend answered 503 "database is locked" (3 of 4 tries here, PREFECT_NOTES); on PostgreSQL
it did not. The embedded server is already running for talentflow's own data, so this costs a
`CREATE DATABASE`, not a second service.

A server we start runs in its own process group (so a Ctrl-C in the terminal reaches only
serve, which then stops it in order) and is recorded in `<state>/serve/prefect-server.json`
(pid and start time, port, API URL, and a fingerprint of its configuration). If serve dies
without stopping it (SIGKILL, OOM), the next serve of the same state folder finds it there:

- still ours (same pid and start time, a `prefect server start`), same port and same
  configuration fingerprint, and healthy: ADOPTED — restart in seconds instead of a cold
  server start, and the runs its scheduler and triggers created meanwhile are picked up;
- ours but configured differently (another port, UI, auth string, database...), or not
  answering: STOPPED (its process group) and a new one started;
- anything else answering at the port: a one-line error, never touched.

Nothing here imports prefect: the server is a subprocess, health is one HTTP GET, so a caller
can choose PREFECT_API_URL before `import prefect` reads it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from talentflow.serving.state import (
    ProcessRef,
    ServeFiles,
    process_cmdline,
    ref_from,
    terminate,
)

logger = logging.getLogger("talentflow.serve")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4200
START_TIMEOUT_S = 180.0  # a cold start (migrations of an empty database) took 30-45 s here
ADOPT_WAIT_S = 60.0  # an orphan still starting up (its serve died during start) gets this long
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
# Quiet by default: an interval schedule pre-creates 1-2 runs, not Prefect's 3-100.
SCHEDULER_DEFAULTS = {
    "PREFECT_SERVER_SERVICES_SCHEDULER_MIN_RUNS": "1",
    "PREFECT_SERVER_SERVICES_SCHEDULER_MAX_RUNS": "2",
}


class ServerUnavailable(RuntimeError):
    """The Prefect server could not be reached or started; the message says why."""


@dataclass
class PrefectServer:
    """A Prefect API. `how`: "connected" (not ours: never stopped), "started" (here),
    "adopted" (started by a previous serve of this state folder) or "replaced"."""

    api_url: str
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    started_in_s: float = 0.0
    how: str = "connected"
    ref: ProcessRef | None = None  # the server process (ours: started or adopted)
    record: Path | None = None  # its record file, removed when we stop it
    launch_args: dict[str, Any] | None = field(default=None, repr=False)
    launched_at: float = field(default_factory=time.monotonic, repr=False)
    _log_file: Any | None = field(default=None, repr=False)

    @property
    def started_here(self) -> bool:
        return self.process is not None

    @property
    def owned(self) -> bool:
        """Ours to stop (and to restart if it dies): started here or adopted."""
        return self.ref is not None

    @property
    def pid(self) -> int | None:
        return self.ref.pid if self.ref else None

    def alive(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        return self.ref is not None and self.ref.alive()

    def wait_healthy(self, timeout: float = START_TIMEOUT_S) -> PrefectServer:
        """Block until /health answers; ServerUnavailable (with the log's tail) if the process
        exits or the time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.owned and not self.alive():
                code = self.process.returncode if self.process is not None else "?"
                self.stop()
                raise ServerUnavailable(
                    f"`prefect server start` exited with {code}; last lines of "
                    f"{self.log_path}:\n{_tail(self.log_path)}"
                )
            if healthy(self.api_url, timeout=1.0):
                self.started_in_s = round(time.monotonic() - self.launched_at, 1)
                return self
            time.sleep(0.25)
        self.stop()
        raise ServerUnavailable(
            f"Prefect server at {self.api_url} not healthy after {timeout:.0f} s; last lines "
            f"of {self.log_path}:\n{_tail(self.log_path)}"
        )

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the server if it is ours (SIGTERM to its process group, SIGKILL after
        `timeout`) and remove its record. A connected server is left alone."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with _suppress_lookup():
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
            except ProcessLookupError:
                pass
        elif proc is None and self.ref is not None:
            terminate(self.ref, group=True, timeout=timeout)
        if self.record is not None and (self.ref is not None or proc is not None):
            with _suppress_lookup():
                self.record.unlink()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def relaunch(self) -> PrefectServer:
        """Start a server we own again, same port and settings (it died). Waits until healthy."""
        if not self.launch_args:
            raise ServerUnavailable("not a server started here: nothing to relaunch")
        self.stop()
        fresh = launch(**self.launch_args)
        self.process, self.ref, self._log_file = fresh.process, fresh.ref, fresh._log_file
        self.launched_at = fresh.launched_at
        return self.wait_healthy()

    def __enter__(self) -> PrefectServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _suppress_lookup() -> suppress:
    return suppress(ProcessLookupError, FileNotFoundError)


def healthy(api_url: str, timeout: float = 2.0) -> bool:
    """True if `<api_url>/health` answers 200 (exempt from the server's auth)."""
    return _get_status(f"{api_url.rstrip('/')}/health", timeout) == 200


def database_ready(api_url: str, timeout: float = 3.0) -> bool:
    """True if `<api_url>/ready` answers 200: the server reaches its database. (/health
    answers 200 even while the database is down.)"""
    return _get_status(f"{api_url.rstrip('/')}/ready", timeout) == 200


def _get_status(url: str, timeout: float) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError, ValueError):
        return None


def free_port(host: str = DEFAULT_HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_in_use(host: str, port: int) -> bool:
    """True if something listens on (host, port), whatever it speaks."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        probe = "127.0.0.1" if host in WILDCARD_HOSTS and family == socket.AF_INET else host
        return s.connect_ex((probe, port)) == 0


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def api_url_for(host: str, port: int) -> str:
    return f"http://{_url_host(host)}:{port}/api"


def browser_host(host: str) -> str:
    """The host a browser should call for a server bound to `host`: the machine's name for a
    wildcard bind (the operator may set PREFECT_UI_API_URL to something better)."""
    return socket.getfqdn() if host in WILDCARD_HOSTS else host


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


def server_environment(*, home: Path, host: str, port: int, ui: bool = True,
                       database_url: str | None = None,
                       auth_string: str | None = None) -> dict[str, str]:
    """The environment of `prefect server start`: ours on top of this process's.

    - PREFECT_UI_API_URL (as PREFECT_SERVER_UI_API_URL) names the port it serves, else the
      UI asks /ui-settings and is told Prefect's default http://127.0.0.1:4200/api;
    - the scheduler pre-creates 1-2 runs per schedule unless the operator set otherwise;
    - PREFECT_SERVER_API_AUTH_STRING when an auth string is given (never on the command line,
      where `ps` shows it).
    """
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "true" if ui else "false",
        "PREFECT_SERVER_API_HOST": host,
        "PREFECT_SERVER_API_PORT": str(port),
        # The server must not try to talk to itself through a stale client setting.
        "PREFECT_API_URL": "",
    }
    ui_api_url = (os.environ.get("PREFECT_SERVER_UI_API_URL")
                  or os.environ.get("PREFECT_UI_API_URL")
                  or api_url_for(browser_host(host), port))
    env["PREFECT_SERVER_UI_API_URL"] = env["PREFECT_UI_API_URL"] = ui_api_url
    for name, value in SCHEDULER_DEFAULTS.items():
        if not os.environ.get(name) and not os.environ.get(
                name.replace("PREFECT_SERVER_", "PREFECT_API_")):
            env[name] = value
    if auth_string:
        env["PREFECT_SERVER_API_AUTH_STRING"] = auth_string
    if database_url:
        env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = database_url
    return env


def fingerprint(env: dict[str, str], host: str, port: int) -> str:
    """What makes a running server the one we would start now: its Prefect version, address
    and every PREFECT_SERVER_* / PREFECT_UI_* / PREFECT_HOME setting (the auth string too,
    hashed here, never written down)."""
    try:
        from importlib.metadata import version

        prefect_version = version("prefect")
    except Exception:  # noqa: BLE001
        prefect_version = "?"
    settings = {k: v for k, v in env.items()
                if k.startswith(("PREFECT_SERVER_", "PREFECT_UI_", "PREFECT_API_SERVICES_"))
                or k == "PREFECT_HOME"}
    blob = json.dumps([prefect_version, host, port, sorted(settings.items())])
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _prefect_command() -> list[str]:
    # The `prefect` script next to this interpreter: the same installation as talentflow.
    script = Path(sys.executable).with_name("prefect")
    if script.exists():
        return [str(script)]
    found = shutil.which("prefect")
    if found:
        return [found]
    return [sys.executable, "-m", "prefect"]


def is_prefect_server(pid: int) -> bool:
    """True if the process is a `prefect server start` (what we record; checked together with
    the recorded start time before anything is signalled)."""
    cmd = process_cmdline(pid)
    joined = " ".join(cmd)
    return "prefect" in joined and "server" in cmd and "start" in cmd


def launch(*, home: Path, host: str = DEFAULT_HOST, port: int | None = None,
           database_url: str | None = None, ui: bool = True, log_path: Path | None = None,
           auth_string: str | None = None, files: ServeFiles | None = None) -> PrefectServer:
    """Run `prefect server start` in its own process group and return at once (not yet
    healthy: `wait_healthy`). With `files`, it is recorded before anything else happens."""
    port = port or free_port(host)
    api_url = api_url_for(host, port)
    if healthy(api_url, timeout=1.0):
        raise ServerUnavailable(
            f"{api_url} already answers and was not started by this state folder's serve; "
            "stop it, choose another --port, or export PREFECT_API_URL to use it")
    if port_in_use(host, port):
        raise ServerUnavailable(f"port {port} on {host} is in use by another program; "
                                "stop it or choose another --port")
    home.mkdir(parents=True, exist_ok=True)
    log_path = log_path or home / "server.log"
    env = server_environment(home=home, host=host, port=port, ui=ui,
                             database_url=database_url, auth_string=auth_string)
    log_file = open(log_path, "ab")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [*_prefect_command(), "server", "start", "--host", host, "--port", str(port)],
        env=env, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: stop() reaches all of it
    )
    ref = ProcessRef.of(proc.pid)
    record = None
    if files is not None:
        record = files.prefect_server
        files.write(record, {
            "pid": proc.pid, "pid_started": ref.started, "pgid": proc.pid,
            "host": host, "port": port, "api_url": api_url, "ui": ui,
            "home": str(home), "log": str(log_path), "started_by": os.getpid(),
            "started_at": time.time(), "fingerprint": fingerprint(env, host, port),
            "auth": bool(auth_string),
        })
    args = dict(home=home, host=host, port=port, database_url=database_url, ui=ui,
                log_path=log_path, auth_string=auth_string, files=files)
    return PrefectServer(api_url, proc, log_path, how="started", ref=ref, record=record,
                         launch_args=args, _log_file=log_file)


def start(*, home: Path, host: str = DEFAULT_HOST, port: int | None = None,
          database_url: str | None = None, ui: bool = True, log_path: Path | None = None,
          timeout: float = START_TIMEOUT_S, auth_string: str | None = None,
          files: ServeFiles | None = None) -> PrefectServer:
    """Run `prefect server start` in its own process group and wait until it is healthy."""
    srv = launch(home=home, host=host, port=port, database_url=database_url, ui=ui,
                 log_path=log_path, auth_string=auth_string, files=files)
    return srv.wait_healthy(timeout)


def target_address(host: str | None, port: int | None) -> tuple[str, int, str | None]:
    """(host, port, configured URL): --host/--port win; else PREFECT_API_URL's when it names
    this machine; else 127.0.0.1:4200."""
    configured = os.environ.get("PREFECT_API_URL") or None
    if configured:
        parts = urlsplit(configured)
        if parts.hostname in LOCAL_HOSTS:
            host = host or parts.hostname
            port = port or parts.port
    return host or DEFAULT_HOST, port or DEFAULT_PORT, configured


def adopt_or_clear(files: ServeFiles, *, host: str, port: int, env: dict[str, str]
                   ) -> PrefectServer | None:
    """The Prefect server a previous serve of this state folder left running: adopted if it
    is the one we would start now, else stopped (see the module docstring). None when there
    is nothing to adopt; the stale record is removed either way."""
    record = files.read(files.prefect_server)
    ref = ref_from(record)
    if record is None or ref is None:
        files.remove(files.prefect_server)
        return None
    if not (ref.alive() and is_prefect_server(ref.pid)):
        logger.info("previous Prefect server (pid %s) is gone", ref.pid)
        files.remove(files.prefect_server)
        return None
    same = (record.get("api_url") == api_url_for(host, port)
            and record.get("fingerprint") == fingerprint(env, host, port))
    srv = PrefectServer(record["api_url"], None, Path(record["log"]) if record.get("log")
                        else None, how="adopted", ref=ref, record=files.prefect_server)
    if same:
        deadline = time.monotonic() + ADOPT_WAIT_S
        while time.monotonic() < deadline and ref.alive():
            if healthy(srv.api_url, timeout=1.0):
                srv.started_in_s = round(time.monotonic() - srv.launched_at, 1)
                files.write(files.prefect_server, {**record, "adopted_by": os.getpid(),
                                                   "adopted_at": time.time()})
                return srv
            time.sleep(0.5)
        why = "not answering"
    else:
        why = "configured differently (port, UI, auth or database changed)"
    logger.warning("stopping the Prefect server a previous serve left (pid %s): %s",
                   ref.pid, why)
    srv.stop()
    return None


def connect_or_start(*, state_dir: Path, home: Path, host: str | None = None,
                     port: int | None = None, ui: bool = True, auth_string: str | None = None,
                     files: ServeFiles | None = None, wait: bool = True) -> PrefectServer:
    """The Prefect API to serve against, in this order:

    1. the server a previous serve of this state folder left (with `files`): adopted or
       stopped (`adopt_or_clear`);
    2. PREFECT_API_URL if it answers (connected: not ours, never stopped);
    3. else a new `prefect server start` at PREFECT_API_URL's host and port when that names
       this machine (so an exported URL keeps working for `prefect deployment run`),
       otherwise at host/port (default 127.0.0.1:4200). Something else answering there is an
       error, not a server to share.

    With wait=False a started server is returned before it is healthy (`wait_healthy`), so
    the caller can load its flows and model meanwhile."""
    host, port, configured = target_address(host, port)
    database_url: str | None = None
    if files is not None and files.prefect_server.exists():
        database_url = prefect_database_url(state_dir)
        env = server_environment(home=home, host=host, port=port, ui=ui,
                                 database_url=database_url, auth_string=auth_string)
        previous = ref_from(files.read(files.prefect_server))
        was_running = previous is not None and previous.alive()
        adopted = adopt_or_clear(files, host=host, port=port, env=env)
        if adopted is not None:
            # Ours now: restarted on the same port and settings if it dies.
            adopted.launch_args = dict(home=home, host=host, port=port,
                                       database_url=database_url, ui=ui,
                                       auth_string=auth_string, files=files)
            return adopted
        how = "replaced" if was_running else "started"
    else:
        how = "started"
    if configured:
        if healthy(configured):
            return PrefectServer(configured)
        if urlsplit(configured).hostname not in LOCAL_HOSTS:
            raise ServerUnavailable(
                f"PREFECT_API_URL={configured} does not answer and is not on this machine; "
                "start that server, or unset PREFECT_API_URL to let talentflow start one"
            )
    database_url = database_url or prefect_database_url(state_dir)
    srv = launch(home=home, host=host, port=port, database_url=database_url, ui=ui,
                 auth_string=auth_string, files=files)
    srv.how = how
    if wait:
        srv.wait_healthy()
    return srv


def _tail(path: Path | None, lines: int = 30) -> str:
    if path is None:
        return "(no log)"
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
