"""A sales table with a few generated days in the test's own database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
import psycopg
import pytest

from examples.daily_sales import generator
from examples.daily_sales.source import ensure_sales_table

# Two whole weeks (2024-01-01 is a Monday), few rows a day: enough for every check to mean
# something, small enough to run in seconds.
FIRST = dt.date(2024, 1, 1)
N_DAYS = 14
DAYS = [str(FIRST + dt.timedelta(days=i)) for i in range(N_DAYS)]
WEEKS = ["2024-01-01", "2024-01-08"]
ROWS_PER_DAY = 60


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
