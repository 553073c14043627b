"""The daily sales checks on the real engine: a negative amount fails the blocking check for
exactly its day and blocks exactly that day's summary and week; a corrected row makes exactly
that day stale and one day's run fixes it; a silent store only warns; a day of voided lines
blocks; and the reconciliation checks fail when totals do not add up."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import psycopg

from examples.daily_sales import defs, generator
from examples.daily_sales.assets import sales_data, sales_summary, weekly_sales
from examples.daily_sales.checks import totals_reconcile, week_adds_up
from talentflow.engine import materialize
from tests.examples.daily_sales.conftest import (
    ALL,
    DAY_SET,
    DAYS,
    TIMEZONE,
    WEEKS,
    not_materialized,
    statuses,
)

BAD = "2024-01-10"  # a Wednesday of the second week


def test_a_negative_amount_blocks_exactly_its_day_and_a_corrected_row_fixes_it(
        db, sales_rows) -> None:
    sales_rows(negative_days=(dt.date.fromisoformat(BAD),))
    with psycopg.connect(db) as conn:
        [(bad_id, bad_amount)] = conn.execute(
            "SELECT id, amount FROM sales WHERE amount < 0").fetchall()

    report = materialize(defs, ALL, key_from=DAYS[0], key_to=DAYS[-1], partition_set=DAY_SET)

    assert not report.ok
    lines, summary, weekly = (report.assets[a] for a in ALL_ASSETS)
    assert lines.check_failed == {BAD: "check failed: no_negative_amounts"}
    assert lines.checks["no_negative_amounts"] == {"passed": 13, "failed": 1, "error": 0}
    assert sorted(summary.ran) == [d for d in DAYS if d != BAD]
    assert list(summary.blocked) == [BAD]
    assert "check failed: no_negative_amounts" in summary.blocked[BAD]
    assert sorted(weekly.ran) == [WEEKS[0]] and list(weekly.blocked) == [WEEKS[1]]
    assert not_materialized("sales_data", DAYS) == {BAD: "failed"}
    assert not_materialized("sales_summary", DAYS) == {BAD: "missing"}
    assert not_materialized("weekly_sales", WEEKS) == {WEEKS[1]: "missing"}
    with psycopg.connect(db) as conn:
        [meta] = conn.execute("SELECT metadata FROM check_results WHERE outcome = 'failed' "
                              "AND check_name = 'no_negative_amounts'").fetchone()
    assert meta["sale_ids"] == [bad_id] and meta["negative_total"] == round(bad_amount, 2)

    # The till's line is corrected: exactly that day is stale (stale first, not failed).
    with psycopg.connect(db) as conn:
        conn.execute("UPDATE sales SET amount = -amount WHERE id = %s", (bad_id,))
    assert not_materialized("sales_data", DAYS) == {BAD: "stale"}

    fixed = materialize(defs, ALL, keys=[BAD], partition_set=DAY_SET)

    assert fixed.ok
    assert [fixed.assets[a].ran for a in ALL_ASSETS] == [[BAD], [BAD], [WEEKS[1]]]
    for asset, keys in (("sales_data", DAYS), ("sales_summary", DAYS), ("weekly_sales", WEEKS)):
        assert set(statuses(asset, keys).values()) == {"materialized"}, asset


ALL_ASSETS = ("sales_data", "sales_summary", "weekly_sales")


def test_a_silent_store_warns_and_a_day_of_voided_lines_blocks(db, sales_rows) -> None:
    sales_rows()
    quiet, voided = DAYS[1], DAYS[2]
    with psycopg.connect(db) as conn:
        for day, sql in ((quiet, "DELETE FROM sales WHERE store_id = 'DET-01' AND "),
                         (voided, "UPDATE sales SET quantity = 0, amount = 0 WHERE ")):
            conn.execute(sql + "sold_at >= (%s::timestamp AT TIME ZONE %s) "
                         "AND sold_at < (%s::timestamp AT TIME ZONE %s)",
                         (day, TIMEZONE, str(dt.date.fromisoformat(day) + dt.timedelta(1)),
                          TIMEZONE))

    report = materialize(defs, ALL, key_from=DAYS[0], key_to=DAYS[6], partition_set=DAY_SET)

    lines = report.assets["sales_data"]
    assert lines.check_failed == {voided: "check failed: has_sales"}
    # Warned: the days on which SQL finds fewer than the 8 stores selling (the two made here;
    # a quiet holiday of the generator may be one more).
    with psycopg.connect(db) as conn:
        silent = {str(d) for (d,) in conn.execute(
            "SELECT d FROM (SELECT g::date AS d FROM generate_series(%s::date, %s::date, "
            "interval '1 day') AS g) AS days WHERE (SELECT "
            "count(DISTINCT store_id) FROM sales WHERE quantity <> 0 AND sold_at >= "
            "(d::timestamp AT TIME ZONE %s) AND sold_at < ((d + 1)::timestamp AT TIME ZONE %s)"
            ") < 8", (DAYS[0], DAYS[6], TIMEZONE, TIMEZONE)).fetchall()}
    assert {quiet, voided} <= silent
    assert lines.check_warnings == dict.fromkeys(silent, "check failed: every_store_reported")
    # A warning never blocks: the quiet day's summary ran; the voided day's did not.
    assert quiet in report.assets["sales_summary"].ran
    assert list(report.assets["sales_summary"].blocked) == [voided]
    assert not_materialized("sales_data", DAYS[:7]) == {voided: "failed"}


def test_the_reconciliation_checks_fail_when_totals_do_not_add_up() -> None:
    """The check functions alone, on generated lines and the assets' own outputs."""
    raw = generator.generate_day(dt.date(2024, 3, 1), rows_per_day=200, seed=3)
    raw = raw.reset_index(names="id")  # what the table hands over: an id per row
    lines = sales_data.fn(sales=raw)
    summary = sales_summary.fn(key="2024-03-01", sales_data=lines)
    assert totals_reconcile.fn(sales_summary=summary, sales_data=lines).passed

    short = summary.assign(revenue=summary["revenue"].where(summary.index != 0,
                                                            summary["revenue"] - 0.02))
    result = totals_reconcile.fn(sales_summary=short, sales_data=lines)
    assert not result.passed and "revenue" in result.description
    assert not totals_reconcile.fn(sales_summary=summary, sales_data=lines.iloc[1:]).passed

    week_days = {f"2024-03-{d:02d}": summary.assign(day=dt.date(2024, 3, d)) for d in range(4, 11)}
    week = weekly_sales.fn(key="2024-03-04", sales_summary=week_days)
    assert week_adds_up.fn(weekly_sales=week, sales_summary=week_days).passed
    assert int(week["orders"].sum()) == 7 * len(lines)
    missing_day = dict(list(week_days.items())[:-1])
    assert not week_adds_up.fn(weekly_sales=week, sales_summary=missing_day).passed
    assert isinstance(week, pd.DataFrame)
