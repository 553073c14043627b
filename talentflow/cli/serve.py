"""`talentflow serve`: the event-driven path in one long-lived process.

1. a Prefect server: PREFECT_API_URL if it answers, else `prefect server start` on 127.0.0.1
   with its database in the embedded PostgreSQL (talentflow/serving/server.py);
2. every deployment of prefect.yaml applied with its triggers (served: no work pool);
3. a warm runner executing their flow runs in this process (talentflow/serving/runner.py),
   after the imports and the embedding model were loaded once;
4. the new-rows sensor ticked by PostgreSQL NOTIFY the moment a source row commits.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

import typer

READY_LINE = "talentflow serve: ready"  # the e2e fixture and scripts wait for this line


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
) -> None:
    """Start (or connect to) a Prefect server and serve every deployment in prefect.yaml, with
    its triggers, from this one warm process. Ctrl-C stops it (and a server it started)."""
    from talentflow import config
    from talentflow.serving import server as prefect_server

    _log_to_console()
    state = config.state_dir()
    home = Path(os.environ.get("PREFECT_HOME") or state / "prefect")
    try:
        srv = prefect_server.connect_or_start(state_dir=state, home=home, host=host, port=port,
                                              ui=ui)
    except prefect_server.ServerUnavailable as exc:
        typer.echo(f"talentflow serve: {exc}", err=True)
        raise typer.Exit(1) from None
    # Before prefect reads its settings (import time) — or refreshed if it already has.
    os.environ["PREFECT_API_URL"] = srv.api_url
    if "prefect.context" in sys.modules:
        from prefect.context import refresh_global_settings_context

        refresh_global_settings_context()
    how = f"started here in {srv.started_in_s} s" if srv.started_here else "connected"
    typer.echo(f"Prefect API {srv.api_url} ({how}); for ops commands in another shell:\n"
               f"  export PREFECT_API_URL={srv.api_url}")
    try:
        _serve(project=project, workers=workers, poll=poll, listen=listen, warm=warm)
    finally:
        srv.stop()


def _serve(*, project: Path | None, workers: int, poll: float, listen: bool,
           warm: bool) -> None:
    t0 = time.perf_counter()
    from talentflow.db import migrate
    from talentflow.serving import deployments
    from talentflow.serving.runner import WarmRunner

    migrate.upgrade()
    specs = deployments.read(project or deployments.PROJECT_FILE)
    flows = {}
    for spec in specs:
        deployment_id = deployments.to_runner_deployment(spec).apply()
        flows[deployment_id] = spec.load_flow()
        typer.echo(f"  deployment {spec.full_name}"
                   + (f"  ({len(spec.triggers)} trigger(s))" if spec.triggers else "")
                   + (f"  (every {spec.intervals[0]:g} s)" if spec.intervals else ""))
    if warm:
        _warm_up()
    runner = WarmRunner(flows, workers=workers, poll_s=poll)
    runner.start()

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    listener = None
    if listen:
        from flows.sensors import listen_and_tick

        def on_tick(result: dict) -> None:
            if result["events"] or result["batch_runs"]:
                logging.getLogger("talentflow.sensor").info(
                    "tick: %s event(s), batch runs %s", result["events"], result["batch_runs"])

        listener = threading.Thread(target=listen_and_tick, args=(stop,), name="sensor-listener",
                                    kwargs={"on_tick": on_tick}, daemon=True)
        listener.start()
    typer.echo(f"{READY_LINE} in {time.perf_counter() - t0:.1f} s: {len(flows)} deployments, "
               f"{workers} worker thread(s), sensor {'on NOTIFY' if listen else 'on schedule'}")
    sys.stdout.flush()
    stop.wait()
    typer.echo("talentflow serve: stopping (waiting for runs in flight)")
    if listener is not None:
        listener.join(10)  # before PostgreSQL may stop at exit
    runner.stop(wait_s=60)


def _log_to_console() -> None:
    # Our own lines only: httpx logs every poll at INFO, which would drown them.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log = logging.getLogger("talentflow")
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    log.propagate = False


def _warm_up() -> None:
    """Load the model (and torch) now, so the first run does not pay ~10-20 s for it."""
    from talentflow.embeddings import EmbedderSettings, encode

    t0 = time.perf_counter()
    encode(["warm-up"], EmbedderSettings.from_env())
    typer.echo(f"  embedding model warm in {time.perf_counter() - t0:.1f} s")
