"""Realistic, deterministic sales rows for the `sales` table.

    python -m examples.daily_sales.generator --start 2024-01-01 --days 60
    python -m examples.daily_sales.generator --days 0 --late 2024-01-10 --late-rows 3

What shapes a day (all seeded: the same seed, day and options give the same rows, and a day's
rows do not depend on which other days are generated with it):

- volume: `rows_per_day` sale lines on an ordinary day, times a weekday factor (Saturday
  busiest, Monday quietest), a yearly season (high in early December, low in early June) and
  US holidays (Black Friday and the run-up to Christmas up, Thanksgiving and Christmas Day
  mostly closed), drawn from a Poisson law;
- where: eight stores in four regions, busier stores taking more of the day;
- what: a product catalogue with list prices and popularity (catalogue.py); winter, summer
  and gift items sell more in their season; electronics on Black Friday;
- when: opening hours 8:00-22:00 New York time, with lunch and after-work peaks;
- how much: cheap items in several units, dear ones mostly one; a few lines discounted
  (more at weekends, half of them on Black Friday); a few voided lines (quantity 0).

Options make bad data on purpose: `negative=n` keys in n lines of a day as negative amounts
(a refund typed as a sale); `late_rows(day, n)` makes sales of an old day that arrive late.
Rows go in with one COPY (`insert`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import sys
import time
from collections.abc import Iterable, Sequence
from functools import cache

import numpy as np
import pandas as pd
import psycopg

from examples.daily_sales.catalogue import PRODUCTS, STORES
from examples.daily_sales.partitions import TIMEZONE
from examples.daily_sales.table import SALES_TABLE, ensure_sales_table

COLUMNS = ["sold_at", "store_id", "region", "product", "quantity", "unit_price", "amount"]
DEFAULT_SEED = 7
DEFAULT_ROWS_PER_DAY = 1000

# Monday first: the mean is 1, so `rows_per_day` is an ordinary week's daily mean.
WEEKDAY_FACTOR = (0.85, 0.85, 0.90, 0.95, 1.10, 1.35, 1.00)
SEASON_AMPLITUDE = 0.10
SEASON_PEAK_DAY = 340  # day of the year (early December)
OPEN_HOUR, CLOSE_HOUR = 8, 22
# Relative footfall of each opening hour, 8:00 to 21:00: lunch and after-work peaks.
HOUR_WEIGHTS = (0.4, 0.6, 0.8, 1.0, 1.5, 1.4, 0.9, 0.8, 0.9, 1.3, 1.5, 1.2, 0.8, 0.5)
VOID_SHARE = 0.003
# Streams of the per-day generator: the day's own rows, its late rows.
_DAY, _LATE = 0, 1


# ------------------------------------------------------------------------------------------
# the calendar


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th `weekday` (Monday 0) of a month; n = -1 for the last one."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


@cache
def holidays(year: int) -> dict[dt.date, float]:
    """Volume factors of the US retail calendar's special days of a year."""
    thanksgiving = _nth_weekday(year, 11, 3, 4)
    out = {
        dt.date(year, 1, 1): 0.30,
        dt.date(year, 2, 14): 1.20,
        _nth_weekday(year, 5, 0, -1): 1.25,  # Memorial Day sales
        dt.date(year, 7, 4): 0.50,
        _nth_weekday(year, 9, 0, 1): 1.20,  # Labor Day
        thanksgiving: 0.35,
        thanksgiving + dt.timedelta(days=1): 2.30,  # Black Friday
        dt.date(year, 12, 24): 1.60,
        dt.date(year, 12, 25): 0.10,
        dt.date(year, 12, 26): 1.30,
        dt.date(year, 12, 31): 0.80,
    }
    for d in range(1, 24):  # the run-up to Christmas: 1.15 rising to 1.5
        out.setdefault(dt.date(year, 12, d), 1.15 + 0.35 * (d - 1) / 22)
    return out


def volume_factor(day: dt.date) -> float:
    """Expected sale lines of `day` relative to an ordinary day's `rows_per_day`."""
    season = 1 + SEASON_AMPLITUDE * np.cos(
        2 * np.pi * (day.timetuple().tm_yday - SEASON_PEAK_DAY) / 365.25)
    return WEEKDAY_FACTOR[day.weekday()] * float(season) * holidays(day.year).get(day, 1.0)


def _black_friday(day: dt.date) -> bool:
    return day == _nth_weekday(day.year, 11, 3, 4) + dt.timedelta(days=1)


def _season_weight(product_season: str | None, day: dt.date) -> float:
    if product_season == "winter":
        return {12: 1.8, 1: 1.8, 2: 1.5, 6: 0.4, 7: 0.4, 8: 0.4}.get(day.month, 1.0)
    if product_season == "summer":
        return {6: 2.0, 7: 2.2, 8: 1.8, 12: 0.3, 1: 0.3, 2: 0.4}.get(day.month, 1.0)
    if product_season == "gifts":
        if day.month == 12 and day.day <= 24 or _black_friday(day):
            return 2.5
        return 1.6 if day.month == 2 and 7 <= day.day <= 14 else 1.0
    return 1.0


# ------------------------------------------------------------------------------------------
# sale lines

_STORE_IDS = np.array([s.store_id for s in STORES], dtype=object)
_STORE_REGIONS = np.array([s.region for s in STORES], dtype=object)
_STORE_P = np.array([s.size for s in STORES]) / sum(s.size for s in STORES)
_NAMES = np.array([p.name for p in PRODUCTS], dtype=object)
_PRICES = np.array([p.price for p in PRODUCTS])
_HOUR_P = np.array(HOUR_WEIGHTS) / sum(HOUR_WEIGHTS)
# Extra units per line (Poisson mean) by price: cheap items go in threes, dear ones alone.
_EXTRA_UNITS = np.where(_PRICES < 10, 0.6, np.where(_PRICES < 30, 0.25, 0.05))


def _product_p(day: dt.date) -> np.ndarray:
    w = np.array([p.popularity * _season_weight(p.season, day) for p in PRODUCTS])
    if _black_friday(day):
        w *= np.array([3.0 if p.category == "electronics" else 1.0 for p in PRODUCTS])
    return w / w.sum()


def _lines(rng: np.random.Generator, day: dt.date, n: int) -> pd.DataFrame:
    """n sale lines of `day`, drawn from the day's distributions."""
    store = rng.choice(len(STORES), size=n, p=_STORE_P)
    product = rng.choice(len(PRODUCTS), size=n, p=_product_p(day))
    hour = OPEN_HOUR + rng.choice(CLOSE_HOUR - OPEN_HOUR, size=n, p=_HOUR_P)
    second = hour * 3600 + rng.integers(0, 3600, size=n)
    quantity = np.minimum(1 + rng.poisson(_EXTRA_UNITS[product]), 12)
    weekend = day.weekday() >= 5
    share, off = (0.5, 0.25) if _black_friday(day) else ((0.12, 0.10) if weekend else
                                                          (0.05, 0.10))
    discount = np.where(rng.random(n) < share, off, 0.0)
    voided = rng.random(n) < VOID_SHARE
    quantity = np.where(voided, 0, quantity)
    price = _PRICES[product]
    amount = np.round(quantity * price * (1 - discount), 2)
    # Wall-clock times of the shops' day, then their instants: opening hours never fall in a
    # DST gap or repeat, so every local time is exactly one instant.
    local = pd.Timestamp(day) + pd.to_timedelta(np.sort(second), unit="s")
    return pd.DataFrame({
        "sold_at": pd.DatetimeIndex(local).tz_localize(TIMEZONE),
        "store_id": _STORE_IDS[store],
        "region": _STORE_REGIONS[store],
        "product": _NAMES[product],
        "quantity": quantity.astype("int64"),
        "unit_price": price,
        "amount": amount,
    })


def _rng(seed: int, day: dt.date, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, day.toordinal(), stream])


def generate_day(day: dt.date, *, rows_per_day: int = DEFAULT_ROWS_PER_DAY,
                 seed: int = DEFAULT_SEED, negative: int = 0) -> pd.DataFrame:
    """The sale lines of one day (at least one). `negative`: that many lines get a negative
    amount, as a refund keyed in as a sale would."""
    rng = _rng(seed, day, _DAY)
    n = max(1, int(rng.poisson(rows_per_day * volume_factor(day))))
    lines = _lines(rng, day, n)
    if negative:
        sold = np.flatnonzero(lines["amount"].to_numpy() > 0)
        picked = rng.choice(sold, size=min(negative, len(sold)), replace=False)
        lines.loc[picked, "amount"] = -lines.loc[picked, "amount"]
    return lines


def generate(start: dt.date, n_days: int, *, rows_per_day: int = DEFAULT_ROWS_PER_DAY,
             seed: int = DEFAULT_SEED, negative_days: Iterable[dt.date] = ()) -> pd.DataFrame:
    """The sale lines of `n_days` days from `start`, in time order."""
    bad = set(negative_days)
    frames = [generate_day(start + dt.timedelta(days=i), rows_per_day=rows_per_day, seed=seed,
                           negative=int(start + dt.timedelta(days=i) in bad))
              for i in range(n_days)]
    return pd.concat(frames, ignore_index=True) if frames else _lines(
        _rng(seed, start, _DAY), start, 0)


def late_rows(day: dt.date, n: int, *, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """n sales of `day` that reach the table after the day's other rows (a till uploading
    late), drawn from the same distributions on a stream of their own."""
    return _lines(_rng(seed, day, _LATE), day, n)


# ------------------------------------------------------------------------------------------
# the table


def insert(conn: psycopg.Connection, lines: pd.DataFrame) -> int:
    """Append sale lines to the sales table with one COPY; returns how many."""
    if lines.empty:
        return 0
    # Instants as ISO 8601 UTC text, made by numpy: pandas formats an aware timestamp per
    # value (~10x slower for a year of rows). PostgreSQL reads them as the same instants.
    utc = lines["sold_at"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    iso = np.char.add(np.datetime_as_string(utc.astype("datetime64[us]"), unit="us"), "Z")
    buf = io.StringIO()
    lines.assign(sold_at=iso)[COLUMNS].to_csv(buf, header=False, index=False)
    with conn.cursor() as cur, cur.copy(
            f"COPY {SALES_TABLE} ({', '.join(COLUMNS)}) FROM STDIN (FORMAT csv)") as copy:
        copy.write(buf.getvalue())
    return len(lines)


def delete_days(conn: psycopg.Connection, start: dt.date, n_days: int) -> int:
    """Remove the rows of `n_days` shop days from `start` (New York days); returns how many."""
    if n_days <= 0:
        return 0
    end = start + dt.timedelta(days=n_days)
    return conn.execute(
        f"DELETE FROM {SALES_TABLE} WHERE sold_at >= (%s::timestamp AT TIME ZONE %s) "
        "AND sold_at < (%s::timestamp AT TIME ZONE %s)",
        (start, TIMEZONE, end, TIMEZONE)).rowcount


# ------------------------------------------------------------------------------------------
# command line


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m examples.daily_sales.generator",
        description="Write realistic, deterministic sales rows into the sales table of the "
        "project database (DATABASE_URL, else the embedded PostgreSQL), creating the table "
        "if needed. The generated days' rows replace what those days held, so a re-run gives "
        "the same table; --late rows are added on top, each run.")
    p.add_argument("--start", type=_day, default=dt.date(2024, 1, 1),
                   help="first day (default 2024-01-01)")
    p.add_argument("--days", type=int, default=60, help="how many days (default 60; 0: none)")
    p.add_argument("--rows-per-day", type=int, default=DEFAULT_ROWS_PER_DAY,
                   help=f"sale lines of an ordinary day (default {DEFAULT_ROWS_PER_DAY})")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED,
                   help=f"seed (default {DEFAULT_SEED})")
    p.add_argument("--negative", type=_day, action="append", default=[], metavar="DAY",
                   help="key one line of DAY in with a negative amount (repeatable)")
    p.add_argument("--late", type=_day, action="append", default=[], metavar="DAY",
                   help="append late rows for DAY after the others (repeatable)")
    p.add_argument("--late-rows", type=int, default=1, help="rows per --late day (default 1)")
    p.add_argument("--csv", metavar="PATH",
                   help="write the rows to this CSV file instead of the database")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.days < 0 or args.rows_per_day < 1 or args.late_rows < 1:
        parser().error("--days must be >= 0, --rows-per-day and --late-rows >= 1")
    started = time.perf_counter()
    lines = generate(args.start, args.days, rows_per_day=args.rows_per_day, seed=args.seed,
                     negative_days=args.negative)
    late = [late_rows(d, args.late_rows, seed=args.seed) for d in args.late]
    if args.csv:
        pd.concat([lines, *late], ignore_index=True)[COLUMNS].to_csv(args.csv, index=False)
        print(f"wrote {len(lines) + args.late_rows * len(late)} rows to {args.csv}")
        return 0
    from talentflow.db import connect

    with connect(vector=False) as conn:
        ensure_sales_table(conn)
        removed = delete_days(conn, args.start, args.days)
        added = insert(conn, lines)
        late_added = sum(insert(conn, frame) for frame in late)
    last = args.start + dt.timedelta(days=max(args.days - 1, 0))
    if args.days:
        print(f"sales: {added} rows for {args.days} day(s) {args.start} … {last}"
              f" (replaced {removed}), seed {args.seed}"
              + (f"; negative amounts on {', '.join(map(str, args.negative))}"
                 if args.negative else ""))
    for d in args.late:
        print(f"sales: {args.late_rows} late row(s) for {d}")
    print(f"done in {time.perf_counter() - started:.1f} s: {added + late_added} row(s) added")
    return 0


if __name__ == "__main__":
    sys.exit(main())
