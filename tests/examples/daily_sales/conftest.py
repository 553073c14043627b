"""A sales table with a few generated days in the test's own database, and the helpers the
daily sales tests share: statuses as `talentflow status` sees them, stored frames, and totals
computed by SQL over the source table (an oracle sharing no code with the assets)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
import psycopg
import pytest

from examples.daily_sales import defs, generator
from examples.daily_sales.partitions import TIMEZONE, days
from examples.daily_sales.table import ensure_sales_table

# Two whole weeks (2024-01-01 is a Monday), few rows a day: enough for every check to mean
# something, small enough to run in seconds.
FIRST = dt.date(2024, 1, 1)
N_DAYS = 14
DAYS = [str(FIRST + dt.timedelta(days=i)) for i in range(N_DAYS)]
WEEKS = ["2024-01-01", "2024-01-08"]
ROWS_PER_DAY = 60
DAY_SET = days.name  # key ranges and Monday keys are days, not weeks
ALL = ["sales_data+"]  # the sale lines and everything computed from them


def put(db: str, lines: pd.DataFrame) -> None:
    with psycopg.connect(db) as conn:
        ensure_sales_table(conn)
        generator.insert(conn, lines)


@pytest.fixture
def sales_rows(db: str) -> Callable[..., pd.DataFrame]:
    """Fill the sales table: `sales_rows(negative_days=[...])` generates the two weeks."""

    def fill(*, negative_days: tuple[dt.date, ...] = ()) -> pd.DataFrame:
        lines = generator.generate(FIRST, N_DAYS, rows_per_day=ROWS_PER_DAY, seed=11,
                                   negative_days=negative_days)
        put(db, lines)
        return lines

    return fill


def statuses(asset: str, keys: list[str]) -> dict[str, str]:
    """key -> status, after observing the sales table (as `talentflow status` does)."""
    from talentflow.db import connect
    from talentflow.engine.run import observe_all
    from talentflow.partitions.status import status

    bound = defs.bind()
    with connect() as conn:
        observe_all(conn, [bound.get("sales")], {})
        conn.commit()
        return {s.key: s.status for s in status(conn, bound.get(asset), keys)}


def not_materialized(asset: str, keys: list[str]) -> dict[str, str]:
    return {k: s for k, s in statuses(asset, keys).items() if s != "materialized"}


def frames(asset: str, keys: list[str]) -> dict[str, pd.DataFrame]:
    """The stored DataFrames of an asset's keys."""
    from talentflow.db import connect
    from talentflow.engine.frames import DataFrameStore

    with connect() as conn:
        return {k: s.value for k, s in DataFrameStore().read(conn, asset, keys).items()}


def sql_totals(db: str, group: str, start: str, end: str) -> dict[str, tuple[int, int, float]]:
    """Lines, units and revenue per `group` column of the sales table itself, voided lines
    left out, over the shop days [start, end)."""
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            f"SELECT {group}, count(*), sum(quantity), sum(amount) FROM sales "
            "WHERE quantity <> 0 AND sold_at >= (%s::timestamp AT TIME ZONE %s) "
            "AND sold_at < (%s::timestamp AT TIME ZONE %s) GROUP BY 1",
            (start, TIMEZONE, end, TIMEZONE)).fetchall()
    return {g: (int(n), int(u), float(r)) for g, n, u, r in rows}


def next_day(day: str, n: int = 1) -> str:
    return str(dt.date.fromisoformat(day) + dt.timedelta(days=n))
