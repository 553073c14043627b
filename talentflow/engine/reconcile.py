"""The reconcile loop: the durable path. Evaluate every asset's automation from the bulk
status and launch `materialize` runs for what the conditions select.

    report = reconcile_once(defs)            # evaluate now, launch, return what it did

It runs on a schedule and whenever an event kicks it (the `reconcile` deployment), and by
hand (`talentflow reconcile`). Whatever broke in between — a killed process (its claims
expire, at once on this host), a lost event, a database restart, a crash between a sensor's
cursor and its run — shows in the status as missing, stale or `lease expired`, so the next
evaluation runs it, with no operator step.

Launching: through the `materialize` deployment when the Prefect API has one (a run per
group, not started twice: a group whose previous launch has not finished is skipped), else in
this process. Cron conditions remember the tick they last ran for (`automation_state`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from prefect import flow

from talentflow.engine.automation import Condition, Eager, OnCron, condition_of
from talentflow.engine.definitions import Definitions
from talentflow.engine.run import KeySelection
from talentflow.partitions import claims
from talentflow.partitions.sets import TimeWindowPartitions

log = logging.getLogger("talentflow.reconcile")

MATERIALIZE_DEPLOYMENT = "materialize/materialize"


@dataclass
class Launch:
    """One materialize run the conditions call for."""

    group: str  # "eager", "on missing", "cron:<asset>" ...: at most one run in flight each
    assets: list[str]
    only: list[str]
    pending: dict[str, int]  # asset -> keys that would run now
    partition_key: str | None = None
    tick: datetime | None = None  # the cron tick this launch answers
    evaluated_at: datetime | None = None
    run: str | None = None  # what launched it: a flow run id, "inline", or why it was skipped

    def parameters(self) -> dict[str, Any]:
        p: dict[str, Any] = {"assets": self.assets, "only": self.only}
        if self.partition_key is not None:
            p["partition_key"] = self.partition_key
        return p


@dataclass
class ReconcileReport:
    evaluated_at: datetime
    launches: list[Launch] = field(default_factory=list)
    expired_claims: int = 0

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps({"evaluated_at": self.evaluated_at,
                                      "expired_claims": self.expired_claims,
                                      "launches": [asdict(x) for x in self.launches]},
                                     default=str))


def _group_name(cond: Condition) -> str:
    return cond.describe()


def _cron_key(asset: Any, tick: datetime) -> str | None:
    """The latest window complete at `tick`, for a time-partitioned asset."""
    if not isinstance(asset.partitions, TimeWindowPartitions):
        return None
    keys = asset.partitions.keys(now=tick)
    return keys[-1] if keys else None


def _last_ticks(conn: psycopg.Connection) -> dict[str, datetime]:
    return dict(conn.execute("SELECT name, last_tick FROM automation_state "
                             "WHERE last_tick IS NOT NULL").fetchall())


def evaluate(defs: Definitions, *, now: datetime | None = None) -> ReconcileReport:
    """What the conditions select now: launches, nothing started yet."""
    from talentflow.db import connect
    from talentflow.engine.flow import pending

    now = now or datetime.now(UTC)
    bound = defs.bind()
    report = ReconcileReport(now)
    with connect() as conn:
        report.expired_claims = claims.expire_dead_local(conn)
        ticks = _last_ticks(conn)
    groups: dict[Condition, list[Any]] = {}
    for a in bound.assets:
        if a.source:
            continue
        cond = condition_of(a)
        if isinstance(cond, OnCron):
            tick = cond.last_tick(now)
            done = ticks.get(f"cron:{a.name}")
            if done is not None and done >= tick:
                continue
            key = _cron_key(a, tick)
            sel = KeySelection(keys=(key,) if key else None, only=cond.states)
            todo = pending(bound, [a], sel, runnable_only=True)
            report.launches.append(Launch(f"cron:{a.name}", [a.name], sorted(cond.states),
                                          todo, key, tick))
        elif isinstance(cond, Condition) and cond.states:
            groups.setdefault(cond, []).append(a)
    for cond, assets in groups.items():
        todo = pending(bound, assets, KeySelection(only=cond.states), runnable_only=True)
        if todo:
            report.launches.append(Launch(_group_name(cond), [a.name for a in assets],
                                          sorted(cond.states), todo))
    return report


Launcher = Callable[[Definitions, Launch], str]


def launch_inline(defs: Definitions, launch: Launch) -> str:
    """Run it here: inside a flow run, as part of it; else as its own materialize run."""
    from prefect.context import FlowRunContext

    from talentflow.engine.flow import materialize, run_in_flow

    if FlowRunContext.get() is not None:
        report = run_in_flow(defs, launch.assets, partition_key=launch.partition_key,
                             only=launch.only)
    else:
        report = materialize(defs, launch.assets, partition_key=launch.partition_key,
                             only=launch.only)
    done = sum(len(r.ran) + len(r.cached) for r in report.assets.values())
    failed = sum(len(r.failed) for r in report.assets.values())
    return f"inline: {done} key(s) done, {failed} failed"


def _deployment(name: str) -> Any | None:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    try:
        with get_client(sync_client=True) as client:
            return client.read_deployment_by_name(name)
    except ObjectNotFound:
        return None


def launch_deployment(defs: Definitions, launch: Launch, *,
                      deployment: str = MATERIALIZE_DEPLOYMENT) -> str:
    """A run of the materialize deployment, unless this group's last one is still going."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    from talentflow.db import connect

    with connect() as conn:
        row = conn.execute("SELECT last_run_id FROM automation_state WHERE name = %s",
                           (launch.group,)).fetchone()
    if row and row[0]:
        try:
            with get_client(sync_client=True) as client:
                previous = client.read_flow_run(UUID(row[0]))
            if previous.state is not None and not previous.state.is_final():
                return f"skipped: run {row[0]} of this group is still {previous.state.name}"
        except Exception:  # noqa: BLE001 - a run the API no longer knows: launch anew
            pass
    params = launch.parameters()
    # One evaluation launches a group once, even if this call is retried; the next
    # evaluation may launch it again (the previous run has finished, see above).
    digest = hashlib.sha256(json.dumps([launch.group, params, launch.evaluated_at],
                                       sort_keys=True, default=str).encode()).hexdigest()[:24]
    run = run_deployment(deployment, parameters=params, timeout=0, as_subflow=False,
                         idempotency_key=f"reconcile-{digest}",
                         tags=["reconcile", f"automation:{launch.group}"])
    with connect() as conn:
        _remember(conn, launch.group, run_id=str(run.id))
    return str(run.id)


def _remember(conn: psycopg.Connection, name: str, *, run_id: str | None = None,
              tick: datetime | None = None) -> None:
    conn.execute(
        """
        INSERT INTO automation_state (name, last_run_id, last_tick) VALUES (%s, %s, %s)
        ON CONFLICT (name) DO UPDATE SET
            last_run_id = coalesce(EXCLUDED.last_run_id, automation_state.last_run_id),
            last_tick = greatest(EXCLUDED.last_tick, automation_state.last_tick),
            updated_at = now()
        """,
        (name, run_id, tick),
    )


def default_launcher() -> Launcher:
    """The materialize deployment when the Prefect API has one, else inline."""
    try:
        if _deployment(MATERIALIZE_DEPLOYMENT) is not None:
            return launch_deployment
    except Exception:  # noqa: BLE001 - no API to ask (ephemeral start failed): run here
        log.warning("could not ask the Prefect API for the materialize deployment; running "
                    "inline")
    return launch_inline


def reconcile_once(defs: Definitions, *, now: datetime | None = None,
                   launcher: Launcher | None = None, dry_run: bool = False
                   ) -> ReconcileReport:
    """Evaluate, then launch every selected group (nothing with `dry_run`)."""
    from talentflow.db import connect

    report = evaluate(defs, now=now)
    if dry_run:
        return report
    launcher = launcher or default_launcher()
    for launch in report.launches:
        launch.evaluated_at = report.evaluated_at
        if launch.pending:
            try:
                launch.run = launcher(defs, launch)
            except Exception as exc:  # noqa: BLE001 - one group failing must not stop others
                launch.run = f"failed to launch: {type(exc).__name__}: {exc}"
                log.warning("reconcile: %s: %s", launch.group, launch.run)
                continue
        else:
            launch.run = "nothing to do"
        if launch.tick is not None:
            with connect() as conn:
                _remember(conn, launch.group, tick=launch.tick)
    return report


def summary(report: ReconcileReport) -> str:
    if not report.launches:
        return "reconcile: every automated asset is up to date"
    parts = [f"{x.group}: {sum(x.pending.values())} key(s) -> {x.run}" for x in report.launches]
    return "reconcile: " + "; ".join(parts)


__all__: Sequence[str] = ["Eager", "Launch", "ReconcileReport", "evaluate", "reconcile_once"]



@flow(name="reconcile", flow_run_name="reconcile")
def reconcile_flow(definitions: str | None = None, dry_run: bool = False) -> dict[str, Any]:
    """Evaluate every asset's automation from the bulk status and launch materialize runs for
    what it selects (the durable path; runs on a schedule and when kicked)."""
    from talentflow.engine.definitions import load_definitions

    report = reconcile_once(load_definitions(definitions), dry_run=dry_run)
    try:
        from prefect.logging import get_run_logger

        get_run_logger().info(summary(report))
    except Exception:  # noqa: BLE001 - outside a run context
        log.info(summary(report))
    return report.to_dict()
