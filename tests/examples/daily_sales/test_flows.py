"""The daily sales flows on the real database and Prefect: the latest complete day is
yesterday in New York whatever the UTC date, the daily flow runs that day and (on a Monday) its
week, and the sensor reprocesses exactly the days whose rows changed."""

from __future__ import annotations

import datetime as dt
from datetime import UTC, datetime

import pytest

from examples.daily_sales import defs, generator
from examples.daily_sales.flows import (
    late_sales_sensor,
    latest_complete_day,
    latest_complete_day_key,
)
from talentflow.engine import materialize
from talentflow.engine.flow import report_from_dict
from tests.examples.daily_sales.conftest import (
    ALL,
    DAY_SET,
    DAYS,
    WEEKS,
    frames,
    next_day,
    not_materialized,
    put,
    sql_totals,
)


@pytest.mark.parametrize(("now", "expected"), [
    # 22:00 in New York on Mar 4 (EST, UTC-5): Mar 4 has not ended there; Mar 3 has.
    (datetime(2024, 3, 5, 3, 0, tzinfo=UTC), "2024-03-03"),
    # Midnight in New York: Mar 4 has just ended.
    (datetime(2024, 3, 5, 5, 0, tzinfo=UTC), "2024-03-04"),
    # 00:30 EDT (UTC-4) on Mar 11, the day after the clocks went forward: Mar 10 (23 hours).
    (datetime(2024, 3, 11, 4, 30, tzinfo=UTC), "2024-03-10"),
    # Noon on Jan 1 2024, the first day: none has ended yet.
    (datetime(2024, 1, 1, 17, 0, tzinfo=UTC), None),
])
def test_the_latest_complete_day_is_yesterday_in_new_york(now: datetime, expected) -> None:
    assert latest_complete_day_key(now) == expected


def test_the_daily_flow_runs_the_latest_day_and_its_finished_week(db, sales_rows) -> None:
    sales_rows()
    first = materialize(defs, ALL, key_from=DAYS[0], key_to=DAYS[-2], partition_set=DAY_SET)
    assert first.assets["weekly_sales"].blocked.keys() == {WEEKS[1]}  # its Sunday is missing

    # 01:00 in New York on Monday Jan 15: Sunday Jan 14 is the latest complete day.
    out = latest_complete_day(now=datetime(2024, 1, 15, 6, 0, tzinfo=UTC))

    assert out["partition_key"] == DAYS[-1] == "2024-01-14"
    report = report_from_dict(out)
    assert report.ok
    assert report.assets["sales_data"].ran == [DAYS[-1]]
    assert report.assets["sales_summary"].ran == [DAYS[-1]]
    assert report.assets["weekly_sales"].ran == [WEEKS[1]]
    assert not_materialized("weekly_sales", WEEKS) == {}

    # The 13:00 run finds the day done: it plans, runs nothing.
    again = report_from_dict(latest_complete_day(now=datetime(2024, 1, 15, 18, 0, tzinfo=UTC)))
    assert not again.did_work


def test_the_sensor_reprocesses_exactly_the_days_whose_rows_changed(db, sales_rows) -> None:
    sales_rows()
    assert materialize(defs, ALL, key_from=DAYS[0], key_to=DAYS[-1], partition_set=DAY_SET).ok
    late_day = "2024-01-03"
    put(db, generator.late_rows(dt.date.fromisoformat(late_day), 3, seed=11))

    out = late_sales_sensor()

    assert out["changed"] == [late_day] and out["keys"] == [late_day]
    report = report_from_dict(out)
    assert report.ok
    assert report.assets["sales_data"].ran == [late_day]
    assert report.assets["sales_summary"].ran == [late_day]
    assert report.assets["weekly_sales"].ran == [WEEKS[0]]
    # The late lines are in the day's summary (totals by SQL over the table).
    (n, units, revenue), = sql_totals(db, "'all'", late_day, next_day(late_day)).values()
    summary = frames("sales_summary", [late_day])[late_day]
    assert (summary["orders"].sum(), summary["units"].sum()) == (n, units)
    assert abs(summary["revenue"].sum() - revenue) < 0.005

    # Nothing new: the next tick observes, finds nothing, runs nothing.
    assert late_sales_sensor() == {"changed": [], "keys": []}

    # A change someone else observed first (`talentflow status` observes) is not lost.
    other = "2024-01-12"
    put(db, generator.late_rows(dt.date.fromisoformat(other), 1, seed=11))
    assert not_materialized("sales_data", DAYS) == {other: "stale"}  # observed here
    out = late_sales_sensor()
    assert out["changed"] == [] and out["keys"] == [other]
    assert report_from_dict(out).assets["sales_data"].ran == [other]
    assert not_materialized("sales_data", DAYS) == {}


def test_the_sensor_waits_quietly_for_the_sales_table(db) -> None:
    assert late_sales_sensor() == {"changed": [], "keys": []}
