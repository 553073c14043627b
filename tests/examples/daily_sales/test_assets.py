"""The daily sales assets end to end on the real database and Prefect: a backfill of two
weeks, each day's summary and each week's rollup checked against SQL over the source table."""

from __future__ import annotations

from examples.daily_sales import defs
from talentflow.engine import materialize
from tests.examples.daily_sales.conftest import (
    ALL,
    DAY_SET,
    DAYS,
    WEEKS,
    frames,
    next_day,
    sql_totals,
    statuses,
)


def _backfill():
    return materialize(defs, ALL, key_from=DAYS[0], key_to=DAYS[-1], partition_set=DAY_SET)


def test_a_backfill_materializes_every_day_and_week_with_checks_passing(db, sales_rows) -> None:
    sales_rows()
    report = _backfill()

    assert report.ok, (report.failed, report.check_failed)
    for asset in ("sales_data", "sales_summary"):
        assert sorted(report.assets[asset].ran) == DAYS
    assert sorted(report.assets["weekly_sales"].ran) == WEEKS
    checks = {name: tally for r in report.assets.values() for name, tally in r.checks.items()}
    for name in ("no_negative_amounts", "has_sales", "totals_reconcile"):
        assert checks[name] == {"passed": 14, "failed": 0, "error": 0}, name
    assert checks["week_adds_up"] == {"passed": 2, "failed": 0, "error": 0}
    for asset, keys in (("sales_data", DAYS), ("sales_summary", DAYS), ("weekly_sales", WEEKS)):
        assert set(statuses(asset, keys).values()) == {"materialized"}, asset

    # Nothing changed: nothing to do, and no flow run to find that out.
    again = _backfill()
    assert again.flow_run_id is None and not again.assets


def test_each_days_summary_is_its_rows_in_the_shops_timezone(db, sales_rows) -> None:
    lines = sales_rows()
    assert _backfill().ok
    data, summaries = frames("sales_data", DAYS), frames("sales_summary", DAYS)
    for day in (DAYS[0], DAYS[5]):  # a Monday and a Saturday
        expected = sql_totals(db, "region", day, next_day(day))
        got = summaries[day].groupby("region")[["orders", "units", "revenue"]].sum()
        assert sorted(got.index) == sorted(expected)
        for region, (n, units, revenue) in expected.items():
            assert got.loc[region, "orders"] == n and got.loc[region, "units"] == units
            assert abs(got.loc[region, "revenue"] - revenue) < 0.005
        # The sale lines are that New York day's: their local dates, in time order.
        local = data[day]["sold_at"]
        assert {str(d) for d in local.dt.date} == {day}
        assert local.is_monotonic_increasing
    voided = int((lines["quantity"] == 0).sum())
    assert sum(len(f) for f in data.values()) == len(lines) - voided


def test_the_weekly_rollup_is_the_sum_of_its_days(db, sales_rows) -> None:
    sales_rows()
    assert _backfill().ok
    weekly, summaries = frames("weekly_sales", WEEKS), frames("sales_summary", DAYS)
    for week in WEEKS:
        got = weekly[week].set_index("region")
        expected = sql_totals(db, "region", week, next_day(week, 7))
        assert sorted(got.index) == sorted(expected)
        for region, (n, units, revenue) in expected.items():
            assert got.loc[region, "orders"] == n and got.loc[region, "units"] == units
            assert abs(got.loc[region, "revenue"] - revenue) < 0.005
            assert got.loc[region, "days"] == 7
        # Its best day per region is the day whose summary has the most revenue there.
        week_days = [next_day(week, i) for i in range(7)]
        for region in got.index:
            by_day = {d: summaries[d].loc[summaries[d]["region"] == region, "revenue"].sum()
                      for d in week_days}
            assert str(got.loc[region, "best_day"]) == max(by_day, key=by_day.get)
