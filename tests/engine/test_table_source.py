"""A source asset over an external table, one partition per day: observing it finds exactly
the days whose rows changed, and downstream reads each day's rows as a DataFrame."""

from __future__ import annotations

import psycopg

from talentflow.engine import Definitions, TimeWindowPartitions, asset, materialize
from talentflow.engine.run import observe_all
from talentflow.engine.table_source import table_source
from talentflow.partitions.status import status_all

DAYS = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]


def _defs(totals: dict[str, int]) -> Definitions:
    days = TimeWindowPartitions("sale_days", start="2024-01-01", schedule="daily",
                                timezone="Europe/Berlin", end="2024-01-06")
    sales = table_source("sales", days, table="ext.sales", time_column="sold_at")

    @asset(partitions=days)
    def daily_total(key: str, sales) -> dict:
        totals[key] = int(sales["cents"].sum())
        return {"rows": len(sales), "cents": int(sales["cents"].sum())}

    return Definitions(assets=[sales, daily_total])


def _load(db: str) -> None:
    with psycopg.connect(db) as conn:
        conn.execute("CREATE SCHEMA ext")
        conn.execute("CREATE TABLE ext.sales (id serial PRIMARY KEY, sold_at timestamptz "
                     "NOT NULL, cents bigint NOT NULL)")
        for n, day in enumerate(DAYS):
            # 23:30 Berlin is still that day there, though the next day's 00:30 is not UTC.
            conn.execute("INSERT INTO ext.sales (sold_at, cents) VALUES "
                         "(%s::date + time '09:00' AT TIME ZONE 'Europe/Berlin', %s), "
                         "(%s::date + time '23:30' AT TIME ZONE 'Europe/Berlin', %s)",
                         (day, 100 * (n + 1), day, 7))


def _stale(db: str, defs: Definitions) -> set[str]:
    with psycopg.connect(db) as conn:
        observe_all(conn, [a for a in defs.assets if a.source], defs.resource_values)
        conn.commit()
        rows = status_all(conn, [defs.get("daily_total")])["daily_total"]
    return {r.key for r in rows if r.status != "materialized"}


def test_each_day_is_its_rows_and_a_late_row_makes_exactly_that_day_stale(db: str) -> None:
    _load(db)
    totals: dict[str, int] = {}
    defs = _defs(totals)
    first = materialize(defs, ["daily_total+upstream"])
    assert first.ok, first.failed
    assert sorted(first.assets["daily_total"].ran) == DAYS
    # Each day holds its own two rows, by the Berlin calendar.
    assert totals == {day: 100 * (n + 1) + 7 for n, day in enumerate(DAYS)}
    assert _stale(db, defs) == set()

    with psycopg.connect(db) as conn:  # a late sale for Jan 2, a correction on Jan 4
        conn.execute("INSERT INTO ext.sales (sold_at, cents) VALUES "
                     "('2024-01-02 12:00 Europe/Berlin', 50)")
        conn.execute("UPDATE ext.sales SET cents = cents + 1 WHERE cents = 400")
    assert _stale(db, defs) == {"2024-01-02", "2024-01-04"}

    totals.clear()
    again = materialize(defs, ["daily_total+upstream"])
    assert sorted(again.assets["daily_total"].ran) == ["2024-01-02", "2024-01-04"]
    assert totals == {"2024-01-02": 200 + 7 + 50, "2024-01-04": 401 + 7}
    assert _stale(db, defs) == set()


def test_the_same_rows_rewritten_in_another_order_are_not_a_change(db: str) -> None:
    _load(db)
    defs = _defs({})
    assert materialize(defs, ["daily_total+upstream"]).ok
    with psycopg.connect(db) as conn:  # rewrite every row as it was: same content
        conn.execute("CREATE TEMP TABLE keep AS SELECT * FROM ext.sales")
        conn.execute("DELETE FROM ext.sales")
        conn.execute("INSERT INTO ext.sales SELECT * FROM keep ORDER BY id DESC")
    assert _stale(db, defs) == set()


def test_rows_with_equal_timestamps_come_back_in_one_order(db: str) -> None:
    """Rows written in another physical order read back as the same frame: a DataFrame asset
    storing them as read keeps its data version."""
    from talentflow.engine.frames import frame_version
    from talentflow.engine.table_source import window_rows

    days = TimeWindowPartitions.daily("tie_days", "2026-02-01", end="2026-02-02")
    rows = [("2026-02-01 10:00+00", f"sku-{i}", i) for i in (3, 1, 2)]
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("CREATE TABLE ties (at timestamptz, sku text, qty int)")
        for row in rows:
            conn.execute("INSERT INTO ties VALUES (%s, %s, %s)", row)
        first = window_rows(conn, days, "ties", "at", ["2026-02-01"])["2026-02-01"]
        conn.execute("DELETE FROM ties")
        for row in reversed(rows):
            conn.execute("INSERT INTO ties VALUES (%s, %s, %s)", row)
        again = window_rows(conn, days, "ties", "at", ["2026-02-01"])["2026-02-01"]
    assert list(first["sku"]) == list(again["sku"])
    assert frame_version(first) == frame_version(again)
