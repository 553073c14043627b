"""The sales generator: deterministic per day, realistic within stated bounds, bad rows and
late rows on request, and its command line writing into a real database."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pytest
from pandas.testing import assert_frame_equal

from examples.daily_sales import generator
from examples.daily_sales.catalogue import PRODUCTS, REGIONS, STORE_IDS

ROOT = Path(__file__).resolve().parents[3]
PRICES = {p.name: p.price for p in PRODUCTS}


@pytest.fixture(scope="module")
def year() -> pd.DataFrame:
    """A year of sales at 200 lines on an ordinary day, with the local day of each line."""
    lines = generator.generate(dt.date(2024, 1, 1), 366, rows_per_day=200, seed=5)
    return lines.assign(day=lines["sold_at"].dt.date)


def test_the_same_seed_gives_the_same_rows_and_a_day_does_not_depend_on_its_range() -> None:
    start = dt.date(2024, 6, 1)
    a = generator.generate(start, 10, rows_per_day=100, seed=1)
    assert_frame_equal(a, generator.generate(start, 10, rows_per_day=100, seed=1))
    assert not a.equals(generator.generate(start, 10, rows_per_day=100, seed=2))
    fifth = generator.generate_day(dt.date(2024, 6, 5), rows_per_day=100, seed=1)
    in_range = a[a["sold_at"].dt.date == dt.date(2024, 6, 5)].reset_index(drop=True)
    assert_frame_equal(in_range, fifth)


def test_lines_look_like_a_shops_day(year: pd.DataFrame) -> None:
    local = year["sold_at"].dt.tz_convert("America/New_York")
    assert str(year["sold_at"].dt.tz) == "America/New_York"
    assert (local.dt.date == year["day"]).all()  # every line on its New York day
    assert local.dt.hour.between(8, 21).all()  # opening hours 8:00-22:00
    assert set(year["store_id"]) == STORE_IDS and set(year["region"]) == set(REGIONS)
    assert set(year["product"]) <= set(PRICES)
    assert (year["unit_price"] == year["product"].map(PRICES)).all()
    sold = year[year["quantity"] > 0]
    gross = sold["quantity"] * sold["unit_price"]
    # Discounts are at most a quarter off (amounts in cents); nothing sells above list price.
    assert (sold["amount"] <= gross + 0.005).all()
    assert (sold["amount"] >= 0.75 * gross - 0.005).all()
    assert 0 < (sold["amount"] < gross - 0.005).mean() < 0.2  # some lines discounted, not most
    assert sold["quantity"].between(1, 12).all()
    assert (year["quantity"] == 0).mean() < 0.01  # a few voided lines
    assert (year.loc[year["quantity"] == 0, "amount"] == 0).all()
    assert (year["amount"] >= 0).all()  # bad rows only on request


def test_volume_follows_weekdays_seasons_and_holidays(year: pd.DataFrame) -> None:
    per_day = year.groupby("day").size()
    assert 180 <= per_day.mean() <= 230  # ~200 a day over the year
    ordinary = per_day.median()
    weekday = pd.Series([d.weekday() for d in per_day.index], index=per_day.index)
    assert per_day[weekday == 5].mean() > 1.2 * per_day[weekday.isin([0, 1])].mean()
    assert per_day[dt.date(2024, 11, 29)] > 1.8 * ordinary  # Black Friday
    assert per_day[dt.date(2024, 12, 25)] < 0.3 * ordinary  # Christmas Day
    month = pd.Series([d.month for d in per_day.index], index=per_day.index)
    assert per_day[month == 12].mean() > 1.2 * per_day[month == 6].mean()
    # Busier stores sell more: New York's flagship more than Detroit's.
    stores = year.groupby("store_id").size()
    assert stores["NYC-01"] > 1.5 * stores["DET-01"]
    # Blankets are a winter thing, towels a summer one.
    units = year.groupby([year["day"].map(lambda d: d.month), "product"]).size()
    assert units[(1, "wool blanket")] > 2 * units[(7, "wool blanket")]
    assert units[(7, "beach towel")] > 2 * units[(1, "beach towel")]


def test_bad_rows_and_late_rows_on_request() -> None:
    day = dt.date(2024, 2, 7)
    clean = generator.generate_day(day, rows_per_day=300, seed=9)
    bad = generator.generate_day(day, rows_per_day=300, seed=9, negative=2)
    negative = bad["amount"] < 0
    assert negative.sum() == 2
    assert_frame_equal(bad[~negative], clean[~negative])  # nothing else moved
    assert np.allclose(bad.loc[negative, "amount"], -clean.loc[negative, "amount"])

    late = generator.late_rows(day, 4, seed=9)
    assert len(late) == 4 and (late["sold_at"].dt.date == day).all()
    assert not late["sold_at"].isin(clean["sold_at"]).all()  # not a copy of the day's rows


def test_the_command_line_fills_the_table_and_a_rerun_replaces_its_days(db: str) -> None:
    run = [sys.executable, "-m", "examples.daily_sales.generator", "--start", "2024-01-08",
           "--days", "3", "--rows-per-day", "50", "--seed", "4", "--negative", "2024-01-09"]
    env = {**os.environ, "DATABASE_URL": db}
    # The second run replaces the same days (the same rows again) and adds 2 late rows.
    for extra in ([], ["--late", "2024-01-09", "--late-rows", "2"]):
        done = subprocess.run([*run, *extra], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    assert "2 late row(s) for 2024-01-09" in done.stdout
    expected = pd.concat([
        generator.generate(dt.date(2024, 1, 8), 3, rows_per_day=50, seed=4,
                           negative_days=[dt.date(2024, 1, 9)]),
        generator.late_rows(dt.date(2024, 1, 9), 2, seed=4)])
    with psycopg.connect(db) as conn:
        n, total, negative = conn.execute(
            "SELECT count(*), sum(amount), count(*) FILTER (WHERE amount < 0) FROM sales"
        ).fetchone()
    assert n == len(expected) and negative == 1
    assert abs(total - expected["amount"].sum()) < 0.005
