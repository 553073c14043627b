"""`talentflow serve`: the event-driven path in one long-lived process (docs/operations.md).

1. a Prefect server: the one a previous serve of this state folder left running (adopted if
   it is configured as we would start it, else stopped and replaced), PREFECT_API_URL if it
   answers, else `prefect server start` on 127.0.0.1 with its database in the embedded
   PostgreSQL (talentflow/serving/server.py). It boots while this process migrates, imports
   the flows and loads the embedding model;
2. every deployment of prefect.yaml applied with its triggers (served: no work pool);
3. a warm runner executing their flow runs in this process (talentflow/serving/runner.py);
4. the new-rows sensor ticked by PostgreSQL NOTIFY the moment a source row commits;
5. a watchdog: restarts the embedded PostgreSQL (and a Prefect server of ours) if it dies,
   writes <state>/serve/health.json (`talentflow serve --health` reads it);
6. recovery at start: the runs a dead previous serve was executing are marked Crashed, the
   claims of dead processes expire, and one `reconcile` run is kicked.

What it started is recorded under <state>/serve/ (talentflow/serving/state.py); SIGTERM or
SIGINT stops all of it in order.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import typer

READY_LINE = "talentflow serve: ready"  # the e2e fixture and scripts wait for this line
START_RECONCILE_WAIT_S = 30.0  # ready waits this long at most for the start's reconcile run
_PROCESS_T0 = time.monotonic()


def health_check() -> None:
    """The health of the `talentflow serve` running for this state folder: its database and
    its Prefect API. Exit 0 ok, 1 unhealthy, 2 not running (for a container's probe)."""
    from talentflow import config
    from talentflow.serving.state import ServeFiles
    from talentflow.serving.watchdog import read_health

    code, line = read_health(ServeFiles(config.state_dir()))
    typer.echo(line)
    raise typer.Exit(code)


def serve(
    host: str = typer.Option(None, "--host", help="Host of a server started here "
                             "(default: PREFECT_API_URL's, else 127.0.0.1)."),
    port: int = typer.Option(None, "--port", help="Port of a server started here "
                             "(default: PREFECT_API_URL's, else 4200)."),
    workers: int = typer.Option(4, "--workers", min=1, help="Flow runs executed at once."),
    poll: float = typer.Option(0.25, "--poll", min=0.05,
                               help="Seconds between polls for scheduled flow runs."),
    listen: bool = typer.Option(True, "--listen/--no-listen",
                                help="Tick the sensor on PostgreSQL NOTIFY (else only on its "
                                "interval schedule)."),
    warm: bool = typer.Option(True, "--warm/--no-warm",
                              help="Load the embedding model before serving."),
    ui: bool = typer.Option(True, "--ui/--no-ui", help="Serve the Prefect UI (server started "
                            "here only)."),
    project: Path = typer.Option(None, "--project", help="prefect.yaml to serve "
                                 "(default: the repository's)."),
    auth_string: str = typer.Option(
        None, "--auth-string", envvar="PREFECT_SERVER_API_AUTH_STRING", show_default=False,
        help="user:password: the Prefect server started here requires it (HTTP basic auth) "
        "and serve's own clients send it (PREFECT_API_AUTH_STRING)."),
    health_port: int = typer.Option(
        0, "--health-port", min=0, help="Also answer GET /health on this port (on --host, "
        "default 127.0.0.1): 200 while the database and the Prefect API answer, else 503. "
        "0: off."),
    watch_interval: float = typer.Option(1.0, "--watch-interval", min=0.2,
                                         help="Seconds between the watchdog's probes."),
    grace: float = typer.Option(60.0, "--grace", min=0.0,
                                help="Seconds a stop waits for the runs in flight."),
    health: bool = typer.Option(
        False, "--health", help="Do not serve: print the health of the serve running for "
        "this state folder and exit 0 (ok), 1 (unhealthy) or 2 (not running)."),
) -> None:
    """Start (or connect to) a Prefect server and serve every deployment in prefect.yaml, with
    its triggers, from this one warm process. Ctrl-C / SIGTERM stops it and what it started."""
    from talentflow import config
    from talentflow.serving.state import AlreadyServing, ServeFiles

    state = config.state_dir()
    files = ServeFiles(state)
    if health:
        health_check()

    _log_to_console()
    try:
        files.acquire()
    except AlreadyServing as exc:
        typer.echo(f"talentflow serve: {exc}", err=True)
        raise typer.Exit(1) from None
    try:
        _Serve(files=files, state=state, host=host, port=port, workers=workers, poll=poll,
               listen=listen, warm=warm, ui=ui, project=project, auth_string=auth_string,
               health_port=health_port, watch_interval=watch_interval, grace=grace).run()
    finally:
        files.release()


class _Serve:
    """One serve, from start to stop; `run()` returns when it has stopped everything."""

    def __init__(self, *, files: Any, state: Path, host: str | None, port: int | None,
                 workers: int, poll: float, listen: bool, warm: bool, ui: bool,
                 project: Path | None, auth_string: str | None, health_port: int,
                 watch_interval: float, grace: float) -> None:
        self.files, self.state = files, state
        self.host, self.port, self.ui = host, port, ui
        self.workers, self.poll, self.listen, self.warm = workers, poll, listen, warm
        self.project, self.auth_string = project, auth_string
        self.health_port, self.watch_interval, self.grace = health_port, watch_interval, grace
        self.stop = threading.Event()
        self.serving = False
        self.stopping = False
        self._interruptible = False  # while the stop waits for runs in flight
        self.srv: Any = None
        self.runner: Any = None
        self.watchdog: Any = None
        self.endpoint: Any = None
        self.listener: threading.Thread | None = None
        self.inherited: dict[str, Any] = {}
        self.previous_pid: Any = None
        self._runs_lock = threading.Lock()
        self.deployment_names: list[str] = []
        self.timings: dict[str, float] = {}
        self.log = logging.getLogger("talentflow.serve")

    # -- the whole life ----------------------------------------------------------------------
    def run(self) -> None:
        from talentflow.serving import recovery

        self._install_signal_handlers()
        previous = recovery.previous_serve(self.files)
        if previous:
            self.inherited = previous.get("runs") or {}
            self.previous_pid = previous.get("pid")
            typer.echo(f"talentflow serve: the previous serve (pid {previous.get('pid', '?')}) "
                       f"died without stopping; {len(self.inherited)} flow run(s) it was "
                       "executing will be marked Crashed, and reconcile re-runs their keys")
        self._record_serve()
        self._write_runs()
        # Whatever a dead serve last reported is not this one's health.
        self.files.write(self.files.health, {"status": "starting", "pid": os.getpid(),
                                             "updated_at": _now_iso(), "interval_s": 10.0})
        try:
            self._start_server()
            self._serve()
        except KeyboardInterrupt:
            typer.echo("talentflow serve: interrupted; stopping what was started")
        finally:
            self._shutdown()

    def _record_serve(self) -> None:
        from talentflow.serving.state import ProcessRef

        me = ProcessRef.of(os.getpid())
        self.files.write(self.files.serve, {
            "pid": me.pid, "pid_started": me.started, "started_at": time.time(),
            "state_dir": str(self.state), "host": self.host, "port": self.port,
            "ui": self.ui, "auth": bool(self.auth_string), "workers": self.workers,
        })

    def _write_runs(self, _runs: dict[str, Any] | None = None) -> None:
        """runs.json: the runs being executed (and the dead previous serve's, until they are
        marked Crashed), rewritten whole on every change."""
        from talentflow.serving.state import ProcessRef

        with self._runs_lock:
            runs = self.runner.executing() if self.runner is not None else {}
            me = ProcessRef.of(os.getpid())
            self.files.write(self.files.runs, {"pid": me.pid, "pid_started": me.started,
                                               "runs": {**self.inherited, **runs}})

    def _install_signal_handlers(self) -> None:
        def on_signal(signum: int, _frame: Any) -> None:
            self.stop.set()
            if self.stopping:
                if self._interruptible:  # a second signal: stop waiting for the runs
                    raise KeyboardInterrupt
                return  # never interrupt stopping the Prefect server or the database
            if not self.serving:
                # Starting up: unwind now (the finally block stops what was started).
                raise KeyboardInterrupt

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, on_signal)

    # -- start -------------------------------------------------------------------------------
    def _start_server(self) -> None:
        from talentflow import config
        from talentflow.serving import server as prefect_server

        if self.auth_string:
            # Before prefect reads its settings: every client of this process sends it.
            os.environ["PREFECT_API_AUTH_STRING"] = self.auth_string
        resolved_host = prefect_server.target_address(self.host, self.port)[0]
        if resolved_host not in prefect_server.LOCAL_HOSTS and not self.auth_string:
            typer.echo(f"talentflow serve: WARNING: a server started here listens on "
                       f"{resolved_host} without --auth-string: anyone who reaches the port "
                       "can read and start flow runs", err=True)
        home = Path(os.environ.get("PREFECT_HOME") or self.state / "prefect")
        t0 = time.monotonic()
        if config.database_url_override() is None:
            from talentflow.db import embedded

            embedded.start(self.state)  # ours to watch and restart
            self.timings["postgres"] = time.monotonic() - t0
        try:
            self.srv = prefect_server.connect_or_start(
                state_dir=self.state, home=home, host=self.host, port=self.port, ui=self.ui,
                auth_string=self.auth_string, files=self.files, wait=False)
        except prefect_server.ServerUnavailable as exc:
            typer.echo(f"talentflow serve: {exc}", err=True)
            raise typer.Exit(1) from None
        # Before prefect reads its settings (import time) — or refreshed if it already has.
        os.environ["PREFECT_API_URL"] = self.srv.api_url
        if "prefect.context" in sys.modules:
            from prefect.context import refresh_global_settings_context

            refresh_global_settings_context()
        what = {"started": "starting here", "replaced": "starting here (the previous serve's "
                "server was stopped: configured differently or not answering)",
                "adopted": f"adopted: left running by the previous serve, pid {self.srv.pid}",
                "connected": "connected"}[self.srv.how]
        typer.echo(f"Prefect API {self.srv.api_url} ({what}); for ops commands in another "
                   f"shell:\n  export PREFECT_API_URL={self.srv.api_url}")

    def _serve(self) -> None:
        from talentflow.db import migrate
        from talentflow.serving import deployments, recovery
        from talentflow.serving.runner import WarmRunner

        t0 = time.monotonic()
        migrate.upgrade()
        self.timings["migrations"] = time.monotonic() - t0
        t1 = time.monotonic()
        specs = deployments.read(self.project or deployments.PROJECT_FILE)
        loaded = [(spec, spec.load_flow()) for spec in specs]
        self.timings["flows"] = time.monotonic() - t1
        _one_line_run_errors()
        warmer = None
        if self.warm:
            # After the imports (both hold the GIL: run together they only slow each other),
            # while this thread waits for the Prefect server and applies the deployments.
            warmer = threading.Thread(target=self._warm_up, name="model-warm-up", daemon=True)
            warmer.start()
        if self.srv.how in ("started", "replaced"):
            t2 = time.monotonic()
            self.srv.wait_healthy()
            self.timings["server_wait"] = time.monotonic() - t2
        typer.echo(f"  Prefect server healthy ({self.srv.how}"
                   + (f", {self.srv.started_in_s} s after launch" if self.srv.owned else "")
                   + ")")
        self._recover_previous(recovery)
        t3 = time.monotonic()
        flows = {}
        for spec, flow in loaded:
            deployment_id = deployments.to_runner_deployment(spec).apply()
            flows[deployment_id] = flow
            self.deployment_names.append(spec.full_name)
            typer.echo(f"  deployment {spec.full_name}"
                       + (f"  ({len(spec.triggers)} trigger(s))" if spec.triggers else "")
                       + (f"  (every {spec.intervals[0]:g} s)" if spec.intervals else ""))
        self.timings["deployments"] = time.monotonic() - t3
        if warmer is not None:
            t4 = time.monotonic()
            warmer.join()
            self.timings["model_wait"] = time.monotonic() - t4
        self.runner = WarmRunner(flows, workers=self.workers, poll_s=self.poll)
        self.runner.on_change = self._write_runs
        self.runner.start()
        if self.listen:
            self._start_listener()
        self._start_watchdog()
        t5 = time.monotonic()
        self._kick_reconcile("serve-start", wait_s=START_RECONCILE_WAIT_S)
        self.timings["reconcile"] = time.monotonic() - t5
        self.serving = True
        if self.stop.is_set():  # a signal arrived in the last steps
            raise KeyboardInterrupt
        total = time.monotonic() - _PROCESS_T0
        phases = ", ".join(f"{k} {v:.1f}" for k, v in self.timings.items())
        typer.echo(f"{READY_LINE} in {total:.1f} s: {len(flows)} deployments, "
                   f"{self.workers} worker thread(s), sensor "
                   f"{'on NOTIFY' if self.listen else 'on schedule'}"
                   + (f", health on http://{self._health_host()}:{self.endpoint.port}/health"
                      if self.endpoint else "")
                   + f" (s: {phases})")
        sys.stdout.flush()
        self.stop.wait()

    def _recover_previous(self, recovery: Any) -> None:
        if not self.inherited:
            return
        try:
            expired = recovery.expire_dead_claims()
            marked = recovery.crash_previous_runs({"pid": self.previous_pid,
                                                   "runs": self.inherited})
            typer.echo(f"  previous serve: {len(marked)} run(s) marked Crashed, {expired} "
                       "claim(s) of dead processes expired")
            self.inherited = {}
            self._write_runs()
        except Exception as exc:  # noqa: BLE001 - recovery is best effort; reconcile follows
            from talentflow.serving.runner import short_error

            self.log.warning("could not mark the previous serve's runs Crashed: %s",
                             short_error(exc))

    def _start_listener(self) -> None:
        from flows.sensors import listen_and_tick

        sensor_log = logging.getLogger("talentflow.sensor")
        failures = [0]

        def on_tick(result: dict) -> None:
            if failures[0]:
                sensor_log.info("sensor listener reconnected (after %d failure(s))", failures[0])
                failures[0] = 0
            if result["events"] or result["batch_runs"]:
                sensor_log.info("tick: %s event(s), batch runs %s", result["events"],
                                _short_list(result["batch_runs"]))

        def on_error(exc: BaseException) -> None:
            from talentflow.serving.runner import short_error

            failures[0] += 1
            if failures[0] in (1, 10) or failures[0] % 60 == 0:
                sensor_log.warning("sensor listener: %s; reconnecting (%d failure(s))",
                                   short_error(exc), failures[0])

        self.listener = threading.Thread(
            target=listen_and_tick, args=(self.stop,), name="sensor-listener", daemon=True,
            kwargs={"on_tick": on_tick, "on_error": on_error})
        self.listener.start()

    def _start_watchdog(self) -> None:
        from talentflow import config
        from talentflow.db.engine import database_url
        from talentflow.serving.watchdog import HealthEndpoint, Watchdog

        embedded_state = self.state if config.database_url_override() is None else None

        def extra() -> dict[str, Any]:
            r = self.runner
            return {"runner": {"in_flight": r.in_flight(), "claimed": r.stats.claimed,
                               "completed": r.stats.completed, "failed": r.stats.failed,
                               "crashed": r.stats.crashed}} if r else {}

        self.watchdog = Watchdog(
            files=self.files, database_url=database_url(), state_dir=embedded_state,
            server=self.srv, interval=self.watch_interval, extra=extra,
            on_recovered=self._database_back)
        self.watchdog.start()
        if self.health_port:
            self.endpoint = HealthEndpoint(self.watchdog, self._health_host(), self.health_port)
            self.endpoint.start()

    def _database_back(self) -> None:
        """After an outage (in the background): let the runs it broke finish failing, expire
        the claims they could not release, then reconcile; once more when every lease taken
        before the outage has expired, whatever happened."""
        from talentflow.engine.run import lease_seconds

        threading.Thread(target=self._after_outage, name="after-outage", daemon=True).start()
        self._kick_reconcile("database-back-leases", background=True,
                             delay=lease_seconds() + 5.0)

    def _after_outage(self, settle_s: float = 60.0) -> None:
        from talentflow.serving import recovery
        from talentflow.serving.runner import short_error

        runner = self.runner
        if runner is not None:
            during = set(runner.executing())
            deadline = time.monotonic() + settle_s
            while during & set(runner.executing()) and time.monotonic() < deadline:
                if self.stop.wait(0.5):
                    return
            try:
                n = recovery.expire_orphaned_claims(set(runner.executing()))
                if n:
                    self.log.warning("expired %d claim(s) left by runs the outage broke", n)
            except Exception as exc:  # noqa: BLE001 - the lease expires by itself anyway
                self.log.warning("could not expire the claims of broken runs: %s",
                                 short_error(exc))
        self._kick_reconcile("database-back", deadline_s=120.0)

    def _health_host(self) -> str:
        from talentflow.serving import server as prefect_server

        return prefect_server.target_address(self.host, self.port)[0]

    def _kick_reconcile(self, why: str, *, background: bool = False, delay: float = 0.0,
                        deadline_s: float = 10.0, wait_s: float = 0.0) -> None:
        """One run of the reconcile deployment now (after `delay`); with `wait_s`, wait that
        long for it to finish: at start, what it finds is launched before `ready` is printed,
        and it evaluates the state the previous process left, not the first new rows."""
        from talentflow.serving import recovery
        from talentflow.serving.runner import short_error

        def kick(deadline_s: float) -> None:
            if delay and self.stop.wait(delay):
                return
            deadline = time.monotonic() + deadline_s
            while True:
                try:
                    run_id = recovery.kick_reconcile(self.deployment_names, why=why)
                    break
                except Exception as exc:  # noqa: BLE001 - the API may still be recovering
                    if time.monotonic() > deadline or self.stop.is_set():
                        self.log.warning("could not kick reconcile (%s): %s", why,
                                         short_error(exc))
                        return
                    self.stop.wait(1.0)
            if run_id and wait_s:
                try:
                    if recovery.wait_final(run_id, wait_s) is None:
                        self.log.info("reconcile run %s still running after %.0f s; "
                                      "serving meanwhile", run_id, wait_s)
                except Exception as exc:  # noqa: BLE001 - waiting is a courtesy
                    self.log.warning("could not follow reconcile run %s: %s", run_id,
                                     short_error(exc))

        if background:
            threading.Thread(target=kick, args=(120.0,), name="reconcile-kick",
                             daemon=True).start()
        else:
            kick(deadline_s)

    def _warm_up(self) -> None:
        """Load the model (and torch) now, so the first run does not pay ~10-20 s for it."""
        try:
            from talentflow.embeddings import EmbedderSettings, encode

            t0 = time.monotonic()
            encode(["warm-up"], EmbedderSettings.from_env())
            self.timings["model"] = time.monotonic() - t0
            typer.echo(f"  embedding model warm in {self.timings['model']:.1f} s")
        except Exception as exc:  # noqa: BLE001 - the first run loads it then
            self.log.warning("model warm-up failed (the first run loads it): %s", exc)

    # -- stop --------------------------------------------------------------------------------
    def _shutdown(self) -> None:
        """Stop what this serve started, in order: sensor, runner (waits `grace` for runs in
        flight), watchdog, Prefect server (if ours), embedded PostgreSQL (if no other process
        holds it); then remove the records. Safe after a partial start."""
        self.stopping = True
        self.stop.set()
        if self.serving:
            typer.echo("talentflow serve: stopping (waiting for runs in flight)")
        if self.watchdog is not None:
            self.watchdog.publish({**self.watchdog.status, "status": "stopping"})
        if self.listener is not None:
            self.listener.join(10)  # before PostgreSQL may stop
        left: dict[str, Any] = {}
        if self.runner is not None:
            with suppress(KeyboardInterrupt):  # a second signal: stop waiting
                self._interruptible = True
                try:
                    self.runner.stop(wait_s=self.grace)
                finally:
                    self._interruptible = False
            left = self.runner.executing()
            if left:
                self._crash_left(left)
        if self.endpoint is not None:
            self.endpoint.stop()
        if self.watchdog is not None:
            self.watchdog.stop("stopped")
        _drain_prefect_workers()  # while the server still answers: not retried at exit
        if self.srv is not None and self.srv.owned:
            self.srv.stop()
            typer.echo(f"  Prefect server stopped (pid {self.srv.pid})")
        self._stop_postgres()
        self.files.remove(self.files.serve, self.files.runs)
        typer.echo("talentflow serve: stopped")
        sys.stdout.flush()
        if left:
            # Worker threads still inside those runs would hold the interpreter's exit open.
            os._exit(1)

    def _crash_left(self, left: dict[str, Any]) -> None:
        from talentflow.serving import recovery

        typer.echo(f"  {len(left)} run(s) still executing after {self.grace:g} s: marked "
                   "Crashed (reconcile re-runs their keys)")
        try:
            recovery.crash_previous_runs({"pid": os.getpid(), "runs": left})
        except Exception as exc:  # noqa: BLE001
            self.log.warning("could not mark runs Crashed: %s", exc)

    def _stop_postgres(self) -> None:
        from talentflow import config

        if config.database_url_override() is not None:
            return
        from talentflow.db import embedded

        others = [p for p in embedded.handle_pids(self.state) if p != os.getpid()]
        if embedded.release(self.state):
            typer.echo("  embedded PostgreSQL stopped")
        elif others:
            typer.echo(f"  embedded PostgreSQL left running: used by pid(s) {others}")


def _drain_prefect_workers(timeout: float = 5.0) -> None:
    """Send the run logs and events still queued in Prefect's background workers now. Left
    for the interpreter's exit, after the server stopped, they are retried for over a minute."""
    if "prefect" not in sys.modules:
        return
    try:
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        for worker in (APILogWorker, EventsWorker):
            worker.drain_all(timeout=timeout, at_exit=False)
    except Exception as exc:  # noqa: BLE001 - best effort
        logging.getLogger("talentflow.serve").warning("could not flush run logs: %s", exc)


class _OneLineRunErrors(logging.Filter):
    """On serve's console, a flow or task run's error is one line: the runner already prints
    each run's outcome, and the full text (traceback included) is in the run's logs in the
    Prefect UI / API, which this filter does not touch (the API handler runs first)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(("prefect.flow_runs", "prefect.task_runs")):
            record.exc_info = None
            record.exc_text = None
            text = record.getMessage()
            if "\n" in text:
                record.msg, record.args = text.splitlines()[0][:300] + " [...]", None
        return True


def _one_line_run_errors() -> None:
    from prefect.logging.handlers import PrefectConsoleHandler

    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrefectConsoleHandler) and not any(
                isinstance(f, _OneLineRunErrors) for f in handler.filters):
            handler.addFilter(_OneLineRunErrors())


def _now_iso() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()


def _short_list(items: list, n: int = 3) -> str:
    items = list(items or [])
    return str(items) if len(items) <= n else f"{items[:n]} (+{len(items) - n} more)"


def _log_to_console() -> None:
    # Our own lines only: httpx logs every poll at INFO, which would drown them.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log = logging.getLogger("talentflow")
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    log.propagate = False
