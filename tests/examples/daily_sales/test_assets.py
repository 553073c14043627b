"""The daily sales definitions end to end on the real database and Prefect: a backfill, a bad
day that fails a blocking check and blocks exactly its downstream, a correction and a late row
that make exactly their day stale, and rollups checked against SQL over the source table."""

from __future__ import annotations

import datetime as dt

import psycopg

from examples.daily_sales import defs
from examples.daily_sales.partitions import TIMEZONE, days
from talentflow.engine import materialize
from talentflow.engine.frames import DataFrameStore
from tests.examples.daily_sales.conftest import DAYS, WEEKS

ALL = ["sales_data+"]
DAY_SET = days.name


def _statuses(asset: str, keys: list[str]) -> dict[str, str]:
    from talentflow.db import connect
    from talentflow.engine.run import observe_all
    from talentflow.partitions.status import status

    bound = defs.bind()
    with connect() as conn:
        observe_all(conn, [bound.get("sales")], {})  # as `talentflow status` does first
        conn.commit()
        return {s.key: s.status for s in status(conn, bound.get(asset), keys)}


def _frames(asset: str, keys: list[str]) -> dict:
    from talentflow.db import connect

    with connect() as conn:
        return {k: s.value for k, s in DataFrameStore().read(conn, asset, keys).items()}


def _sql_totals(db: str, group: str, start: str, end: str) -> dict[str, tuple[int, int, float]]:
    """Lines, units and revenue per `group` column from the sales table itself, voided lines
    left out, for shop days [start, end): an oracle sharing no code with the assets."""
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            f"SELECT {group}, count(*), sum(quantity), sum(amount) FROM sales "
            "WHERE quantity <> 0 AND sold_at >= (%s::timestamp AT TIME ZONE %s) "
            "AND sold_at < (%s::timestamp AT TIME ZONE %s) GROUP BY 1",
            (start, TIMEZONE, end, TIMEZONE)).fetchall()
    return {g: (int(n), int(u), float(r)) for g, n, u, r in rows}


def test_a_backfill_materializes_every_day_and_week_with_checks_passing(db, sales_rows) -> None:
    sales_rows()
    report = materialize(defs, ALL, key_from=DAYS[0], key_to=DAYS[-1],
                         partition_set=DAY_SET)

    assert report.ok, (report.failed, {a: r.check_failed for a, r in report.assets.items()})
    for asset in ("sales_data", "sales_summary"):
        assert sorted(report.assets[asset].ran) == DAYS
    assert sorted(report.assets["weekly_sales"].ran) == WEEKS
    checks = {name: tally for r in report.assets.values() for name, tally in r.checks.items()}
    assert checks["no_negative_amounts"] == {"passed": 14, "failed": 0, "error": 0}
    assert checks["totals_reconcile"] == {"passed": 14, "failed": 0, "error": 0}
    assert checks["week_adds_up"] == {"passed": 2, "failed": 0, "error": 0}
    assert set(_statuses("sales_summary", DAYS).values()) == {"materialized"}

    # Each day's summary per region equals SQL over that day's rows of the source table.
    summaries = _frames("sales_summary", DAYS)
    for day in (DAYS[0], DAYS[5]):  # a Monday and a Saturday
        next_day = str(dt.date.fromisoformat(day) + dt.timedelta(days=1))
        got = summaries[day].groupby("region")[["orders", "units", "revenue"]].sum()
        expected = _sql_totals(db, "region", day, next_day)
        assert set(got.index) == set(expected)
        for region, (n, units, revenue) in expected.items():
            assert got.loc[region, "orders"] == n and got.loc[region, "units"] == units
            assert abs(got.loc[region, "revenue"] - revenue) < 0.005

    # Nothing changed: nothing to do, no flow run.
    again = materialize(defs, ALL, key_from=DAYS[0], key_to=DAYS[-1],
                         partition_set=DAY_SET)
    assert again.flow_run_id is None and not again.assets
