"""The engine's reconcile loop, as this project deploys it (prefect.yaml: `reconcile`).

Runs on a schedule and when kicked (by `talentflow serve` at start, by a crashed run's
event): evaluates every asset's automation from the bulk status and launches `materialize`
runs for what is missing, stale or left behind by a dead run.
"""

from talentflow.engine.reconcile import reconcile_flow

__all__ = ["reconcile_flow"]
