"""The daily sales flows (examples/daily_sales/prefect.yaml deploys them). Thin: they pick
keys and call the engine.

- `daily-sales` (latest_complete_day): the last day that has ended in the shops' timezone,
  and what reads it (its summary; its week once the week has ended). Twice a day, so a feed
  that is late at 01:00 is caught at 13:00.
- `late-sales-sensor` (late_sales_sensor): observes the sales table and materializes exactly
  the days whose rows changed — a late upload, a corrected line — and their downstream.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from prefect import flow

from examples.daily_sales.definitions import defs
from examples.daily_sales.partitions import days
from examples.daily_sales.table import sales_table_exists
from talentflow.engine import run_in_flow

# A day's sale lines and what is computed from them. Keys are days (partition_set): a Monday's
# key is also a week's, and the weekly rollup takes the weeks that read the selected days.
PIPELINE = ["sales_data+"]

log = logging.getLogger("examples.daily_sales")


def _logger() -> logging.Logger | logging.LoggerAdapter:
    try:
        from prefect.logging import get_run_logger

        return get_run_logger()
    except Exception:  # noqa: BLE001 - outside a flow run
        return log


def latest_complete_day_key(now: datetime | None = None) -> str | None:
    """The key of the last day that has ended at `now` (default: now) in the set's
    timezone: yesterday there, whatever the date is in UTC. None before the first day."""
    keys = days.keys(now=now)
    return keys[-1] if keys else None


@flow(name="daily-sales")
def latest_complete_day(now: datetime | None = None) -> dict[str, Any]:
    """Materialize the latest complete day (missing, stale or failed) and its downstream.
    `now` picks another moment (tests, a catch-up by hand); default: now."""
    key = latest_complete_day_key(now)
    if key is None:
        _logger().info("no day has ended yet: nothing to do")
        return {"partition_key": None}
    report = run_in_flow(defs, PIPELINE, partition_key=key, partition_set=days.name)
    return {"partition_key": key, **report.to_dict()}


def days_to_refresh() -> tuple[list[str], list[str]]:
    """Observe the sales table: (days whose rows changed since the last observation, every
    day whose sale lines are stale). The second covers changes another observer saw first
    (`talentflow status` observes too), so none is left behind."""
    from talentflow.db import connect
    from talentflow.partitions.observation import observe_sources
    from talentflow.partitions.status import status

    bound = defs.bind()
    with connect() as conn:
        changed = observe_sources(conn, [bound.get("sales")]).get("sales", [])
        conn.commit()
        stale = [s.key for s in status(conn, bound.get("sales_data")) if s.status == "stale"]
    return sorted(changed), stale


@flow(name="late-sales-sensor")
def late_sales_sensor() -> dict[str, Any]:
    """Materialize exactly the days whose sales rows changed (and their downstream)."""
    from talentflow.db import connect

    with connect() as conn:
        if not sales_table_exists(conn):
            # Before the feed's first upload: nothing to observe, and nothing is wrong.
            _logger().info("no sales table yet: nothing to observe")
            return {"changed": [], "keys": []}
    changed, stale = days_to_refresh()
    keys = sorted({*changed, *stale})
    if not keys:
        return {"changed": [], "keys": []}
    _logger().info("sales rows changed on %s", ", ".join(keys))
    report = run_in_flow(defs, PIPELINE, partition_keys=keys, partition_set=days.name)
    return {"changed": changed, "keys": keys, **report.to_dict()}
