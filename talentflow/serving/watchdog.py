"""serve's watchdog: is talentflow's PostgreSQL answering, is the Prefect API, and what to do
when not. One thread, one probe every `interval` seconds:

- the database: a new connection and `SELECT 1` (3 s timeout). When it fails and the
  database is the embedded one and its postmaster is gone, the server is started again at once
  (`embedded.restart`, same data directory and socket: clients reconnect to the same URL).
  An external database (DATABASE_URL) is only reported;
- the Prefect API: `/health` (the process answers) and `/ready` (it reaches its database).
  A server serve owns that exited is started again on its port; one that stays not-ready for
  `stuck_after_s` after its database is back is restarted too;
- the verdict goes to `<state>/serve/health.json` (rewritten each probe) and to the optional
  HTTP endpoint (`--health-port`): `ok` only while both answer.

When the database comes back after an outage, `on_recovered` runs (serve kicks a reconcile
run: the work the outage broke is found and redone).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg

from talentflow.serving import server as prefect_server
from talentflow.serving.runner import short_error
from talentflow.serving.state import ServeFiles

logger = logging.getLogger("talentflow.watchdog")


def probe_database(url: str, timeout: int = 3) -> str | None:
    """None if the database answers `SELECT 1`, else why not (one line)."""
    try:
        with psycopg.connect(url, connect_timeout=timeout, autocommit=True) as conn:
            conn.execute("SELECT 1")
        return None
    except Exception as exc:  # noqa: BLE001 - any failure is "does not answer"
        return short_error(exc)


class Watchdog:
    def __init__(self, *, files: ServeFiles, database_url: str, state_dir: Path | None,
                 server: prefect_server.PrefectServer | None, interval: float = 1.0,
                 stuck_after_s: float = 30.0,
                 on_recovered: Callable[[], None] | None = None,
                 extra: Callable[[], dict[str, Any]] | None = None) -> None:
        self.files = files
        self.database_url = database_url
        self.state_dir = state_dir  # the embedded server's state folder; None: external
        self.server = server
        self.interval = interval
        self.stuck_after_s = stuck_after_s
        self.on_recovered = on_recovered
        self.extra = extra
        self.status: dict[str, Any] = {"status": "starting"}
        self.db_restarts = 0
        self.server_restarts = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._db_down_since: float | None = None
        self._db_back_at: float | None = None
        self._failed_restarts = 0
        self._next_restart_at = 0.0
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self.check()
        self._thread = threading.Thread(target=self._loop, name="serve-watchdog", daemon=True)
        self._thread.start()

    def stop(self, final_status: str = "stopped") -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(15)
        self.publish({**self.status, "status": final_status})

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception as exc:  # noqa: BLE001 - the watchdog must outlive any one probe
                logger.warning("watchdog probe failed: %s", short_error(exc))

    # -- one probe -------------------------------------------------------------------------
    def check(self) -> dict[str, Any]:
        with self._lock:
            db_error = self._check_database()
            api = self._check_prefect(db_ok=db_error is None)
            ok = db_error is None and api["healthy"] and api["ready"] is not False
            status = {
                "status": "ok" if ok else "unhealthy",
                "pid": os.getpid(),
                "updated_at": datetime.now(UTC).isoformat(),
                "interval_s": self.interval,
                "database": {"ok": db_error is None, "error": db_error,
                             "embedded": self.state_dir is not None,
                             "restarts": self.db_restarts,
                             "down_since": _iso(self._db_down_since)},
                "prefect_api": {**api, "restarts": self.server_restarts},
            }
            if self.extra is not None:
                with suppress(Exception):
                    status.update(self.extra())
            self.publish(status)
            return status

    def publish(self, status: dict[str, Any]) -> None:
        self.status = status
        try:
            self.files.write(self.files.health, status)
        except OSError as exc:
            logger.warning("could not write %s: %s", self.files.health, exc)

    def _check_database(self) -> str | None:
        error = probe_database(self.database_url)
        if error is None:
            if self._db_down_since is not None:
                took = time.monotonic() - self._db_down_since
                logger.warning("PostgreSQL answers again (down %.1f s)", took)
                self._db_down_since = None
                self._db_back_at = time.monotonic()
                self._recovered()
            return None
        if self._db_down_since is None:
            self._db_down_since = time.monotonic()
            logger.warning("PostgreSQL does not answer: %s", error)
        if self.state_dir is not None:
            from talentflow.db import embedded

            if not embedded.is_running(self.state_dir) \
                    and time.monotonic() >= self._next_restart_at:
                logger.warning("the embedded PostgreSQL is not running: starting it again")
                try:
                    took = embedded.restart(self.state_dir)
                except Exception as exc:  # noqa: BLE001 - tried again, less and less often
                    self._failed_restarts += 1
                    wait = min(2.0 ** self._failed_restarts, 60.0)
                    self._next_restart_at = time.monotonic() + wait
                    logger.error("could not restart the embedded PostgreSQL (next try in "
                                 "%.0f s; its log: %s): %s", wait,
                                 embedded.pgdata(self.state_dir) / "log", short_error(exc))
                    return error
                self._failed_restarts = 0
                self._next_restart_at = 0.0
                self.db_restarts += 1
                logger.warning("embedded PostgreSQL restarted in %.1f s", took)
                error = probe_database(self.database_url)
                if error is None:
                    took = time.monotonic() - self._db_down_since
                    logger.warning("PostgreSQL answers again (down %.1f s)", took)
                    self._db_down_since = None
                    self._db_back_at = time.monotonic()
                    self._recovered()
        return error

    def _recovered(self) -> None:
        if self.on_recovered is None:
            return
        try:
            self.on_recovered()
        except Exception as exc:  # noqa: BLE001
            logger.warning("after the database came back: %s", short_error(exc))

    def _check_prefect(self, *, db_ok: bool) -> dict[str, Any]:
        srv = self.server
        if srv is None:
            return {"healthy": True, "ready": None, "url": None}
        if srv.owned and not srv.alive():
            logger.warning("the Prefect server (pid %s) exited: starting it again", srv.pid)
            try:
                if srv.launch_args is None:
                    raise prefect_server.ServerUnavailable("adopted: no launch settings")
                srv.relaunch()
                self.server_restarts += 1
                logger.warning("Prefect server restarted in %.1f s (pid %s)", srv.started_in_s,
                               srv.pid)
            except Exception as exc:  # noqa: BLE001
                logger.error("could not restart the Prefect server: %s", short_error(exc))
        is_healthy = prefect_server.healthy(srv.api_url, timeout=2.0)
        ready = prefect_server.database_ready(srv.api_url) if is_healthy else False
        if (is_healthy and not ready and db_ok and srv.owned and srv.launch_args is not None
                and self._db_back_at is not None
                and time.monotonic() - self._db_back_at > self.stuck_after_s):
            logger.warning("the Prefect server still cannot reach its database %.0f s after "
                           "PostgreSQL came back: restarting it",
                           time.monotonic() - self._db_back_at)
            try:
                srv.relaunch()
                self.server_restarts += 1
                self._db_back_at = None
                ready = prefect_server.database_ready(srv.api_url)
            except Exception as exc:  # noqa: BLE001
                logger.error("could not restart the Prefect server: %s", short_error(exc))
        if ready:
            self._db_back_at = None
        return {"healthy": is_healthy, "ready": ready, "url": srv.api_url,
                "owned": srv.owned, "pid": srv.pid}


def _iso(monotonic_at: float | None) -> str | None:
    if monotonic_at is None:
        return None
    wall = time.time() - (time.monotonic() - monotonic_at)
    return datetime.fromtimestamp(wall, UTC).isoformat()


# -- the HTTP health endpoint -----------------------------------------------------------------
class HealthEndpoint:
    """GET /health (or /healthz, /ready): 200 and the status JSON while healthy, else 503."""

    def __init__(self, watchdog: Watchdog, host: str, port: int) -> None:
        dog = watchdog

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path.split("?", 1)[0] not in ("/health", "/healthz", "/ready", "/"):
                    self.send_error(404)
                    return
                status = dog.status
                body = json.dumps(status, default=str).encode()
                self.send_response(200 if status.get("status") == "ok" else 503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="serve-health",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# -- the exec probe (`talentflow serve --health`) ---------------------------------------------
def read_health(files: ServeFiles) -> tuple[int, str]:
    """(exit code, one line) for a probe: 0 healthy; 1 unhealthy or stale; 2 not running."""
    from talentflow.serving.state import ref_from

    serve = files.read(files.serve)
    ref = ref_from(serve)
    if ref is None or not ref.alive():
        return 2, f"talentflow serve is not running (state folder {files.dir.parent})"
    health = files.read(files.health)
    if not health or health.get("pid") != ref.pid:
        return 1, f"talentflow serve (pid {ref.pid}) has not reported its health yet"
    try:
        updated = datetime.fromisoformat(health["updated_at"])
        age = (datetime.now(UTC) - updated).total_seconds()
    except (KeyError, TypeError, ValueError):
        age = float("inf")
    limit = 3 * float(health.get("interval_s") or 2.0) + 10.0
    db = health.get("database") or {}
    api = health.get("prefect_api") or {}
    api_ok = api.get("healthy") and api.get("ready") is not False
    detail = (f"database {'ok' if db.get('ok') else 'DOWN: ' + str(db.get('error'))}; "
              f"prefect api {'ok' if api_ok else 'DOWN'} ({api.get('url')})")
    if age > limit:
        return 1, (f"unhealthy: talentflow serve (pid {ref.pid}) last reported {age:.0f} s ago "
                   f"(stuck?); {detail}")
    if health.get("status") != "ok":
        return 1, f"{health.get('status')}: talentflow serve (pid {ref.pid}); {detail}"
    return 0, f"ok: talentflow serve (pid {ref.pid}); {detail}"
