"""What a starting serve does about the one before it, and the reconcile kick.

- `previous_serve`: the record of the serve that held this state folder before, if it died
  without cleaning up (its pid is gone; a live one holds the lock and we never get here);
- `crash_previous_runs`: the flow runs that serve's warm runner was executing
  (`runs.json`) are marked Crashed in Prefect if they still show Pending/Running — nobody
  will finish them; their keys' claims expire at once (`claims.expire_dead_local`: the holder's
  pid is dead), so the status shows them `lease expired` and reconcile re-runs them;
- `kick_reconcile`: one run of the `reconcile` deployment right now (start, restart, the
  database back after an outage), so work left behind is picked up at once instead of at the
  next interval.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from talentflow.serving.runner import short_error
from talentflow.serving.state import ServeFiles, ref_from

logger = logging.getLogger("talentflow.serve")

RECONCILE_DEPLOYMENT = "reconcile/reconcile"


def previous_serve(files: ServeFiles) -> dict[str, Any] | None:
    """The dead previous serve's record (with its runs), or None if it stopped cleanly."""
    record = files.read(files.serve)
    runs = files.read(files.runs)
    if record is None and runs is None:
        return None
    ref = ref_from(record) or ref_from(runs)
    if ref is not None and ref.alive():  # cannot happen while we hold the lock; be safe
        return None
    return {**(record or {}), "runs": (runs or {}).get("runs") or {}}


def crash_previous_runs(previous: dict[str, Any] | None) -> list[str]:
    """Settle the flow runs the dead serve had claimed: Running (or any other unfinished state
    but the two below) -> Crashed; Pending (claimed, never started: it died in between) ->
    Scheduled again, for this serve's runner to execute; Scheduled or final: left alone.
    Returns the ids marked Crashed."""
    if not previous or not previous.get("runs"):
        return []
    from prefect.client.orchestration import get_client
    from prefect.states import Crashed, Scheduled

    pid = previous.get("pid", "?")
    reason = (f"talentflow serve (pid {pid}) died while executing this run; its keys' claims "
              "expired with it and reconcile re-runs them")
    marked = []
    with get_client(sync_client=True) as client:
        for run_id, info in previous["runs"].items():
            try:
                run = client.read_flow_run(UUID(run_id))
                state = run.state
                if state is None or state.is_final() or state.is_scheduled():
                    continue
                if state.is_pending():
                    client.set_flow_run_state(UUID(run_id), Scheduled(
                        message=f"talentflow serve (pid {pid}) died before starting it; "
                        "scheduled again"), force=True)
                    logger.warning("flow run %s (%s), claimed by the dead serve (pid %s) but "
                                   "not started, scheduled again", run_id,
                                   info.get("name", "?"), pid)
                    continue
                client.set_flow_run_state(UUID(run_id), Crashed(message=reason), force=True)
                marked.append(run_id)
                logger.warning("flow run %s (%s) of the dead serve (pid %s) marked Crashed",
                               run_id, info.get("name", "?"), pid)
            except Exception as exc:  # noqa: BLE001 - one unknown run must not stop the rest
                logger.warning("could not settle flow run %s: %s", run_id, short_error(exc))
    return marked


def expire_dead_claims() -> int:
    """Expire now the partition claims of dead processes on this host (the dead serve's)."""
    from talentflow.db import connect
    from talentflow.partitions import claims

    with connect(autocommit=True, vector=False) as conn:
        return claims.expire_dead_local(conn)


def expire_orphaned_claims(executing: set[str]) -> int:
    """Expire the claims THIS process still holds for flow runs it no longer executes.

    A run whose database went away mid-run cannot release its claims (the release is a
    statement too); its holder names this live process, so `expire_dead_local` never
    expires them, and its keys would wait out the lease. Called after an outage: a finished run
    holds nothing by design, so whatever it still holds is left over. Runs still executing
    (`executing`, by flow run id) keep theirs."""
    from talentflow.db import connect
    from talentflow.partitions import claims

    prefix = claims.local_holder("")  # "<host>:<pid>:": this process's holders
    with connect(autocommit=True, vector=False) as conn:
        return claims.expire_abandoned(conn, prefix, sorted(executing))


def kick_reconcile(deployment_names: list[str], *, why: str) -> str | None:
    """Start one run of the reconcile deployment now, if it is served; returns its id."""
    if RECONCILE_DEPLOYMENT not in deployment_names:
        return None
    from prefect.deployments import run_deployment

    run = run_deployment(RECONCILE_DEPLOYMENT, timeout=0, as_subflow=False,
                         tags=["talentflow-serve", why])
    logger.info("reconcile kicked (%s): flow run %s", why, run.id)
    return str(run.id)


def wait_final(run_id: str, timeout: float) -> str | None:
    """The run's final state name once it has one, or None after `timeout` seconds."""
    import time

    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            state = client.read_flow_run(UUID(run_id)).state
            if state is not None and state.is_final():
                return state.name
            time.sleep(0.2)
    return None
