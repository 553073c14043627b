"""The daily sales story, end to end: `python -m examples.daily_sales.demo` (`make demo-sales`).

In a database of its own, made afresh at each run (the embedded PostgreSQL of the state folder
`.talentflow/daily-sales-demo/`, or `daily_sales_demo` on DATABASE_URL's server):
nine weeks of generated sales with one refund keyed in as a sale; a backfill in one Prefect
flow run; the bad day failing its blocking check and holding back exactly its summary and its
week; status and checks; the till's line corrected, so that one day is stale and one day's run
fixes it; a late sale picked up by the sensor flow for exactly its day. Every step says what
it expected; the exit code is 0 only if the whole story held.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

DEMO_DATABASE = "daily_sales_demo"  # on a DATABASE_URL server
DEMO_STATE = "daily-sales-demo"  # else: a state folder of its own, below the project's
FIRST = dt.date(2024, 1, 1)
N_DAYS = 63  # nine whole weeks, Monday Jan 1 to Sunday Mar 3
BAD_DAY = dt.date(2024, 2, 14)
LATE_DAY = dt.date(2024, 1, 10)
ASSETS = ("sales_data", "sales_summary", "weekly_sales")


class Story:
    """Prints the steps and remembers whether each expectation held."""

    def __init__(self) -> None:
        self.broken: list[str] = []

    def say(self, line: str = "") -> None:
        print(line, flush=True)

    def expect(self, held: bool, what: str) -> None:
        self.say(f"   {'✓' if held else '✗'} {what}")
        if not held:
            self.broken.append(what)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def fresh_database(name: str) -> str:
    """Database `name` made afresh on the project's server (the embedded one of the state
    folder unless DATABASE_URL names one), with the engine's tables; DATABASE_URL points at
    it for the rest of the process."""
    import psycopg

    from talentflow.db import engine, migrate

    server = engine.database_url()  # starts the embedded PostgreSQL if it is the one
    with psycopg.connect(_with_database(server, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(server, name)
    os.environ["DATABASE_URL"] = url
    engine.database_url.cache_clear()
    migrate.upgrade([])  # the engine's tables alone: no talent tables here
    return url


def _ran(report, asset: str) -> list[str]:
    r = report.assets.get(asset)
    return sorted(r.ran + r.cached) if r else []


def _line(report) -> str:
    return ", ".join(f"{a} ran {len(_ran(report, a))}" for a in ASSETS)


def run_story(say: Story, rows_per_day: int | None = None) -> None:
    """The story on the database DATABASE_URL names (fresh: no sales table yet).
    `rows_per_day`: the generator's volume (default ~1,000 sale lines a day)."""
    import pandas as pd
    import psycopg

    from examples.daily_sales import defs, generator
    from examples.daily_sales.flows import late_sales_sensor
    from examples.daily_sales.partitions import TIMEZONE, days, weeks
    from examples.daily_sales.table import ensure_sales_table
    from talentflow.cli.common import progress_bar
    from talentflow.db import connect
    from talentflow.engine import checks as checking
    from talentflow.engine import materialize
    from talentflow.engine.flow import report_from_dict
    from talentflow.engine.frames import DataFrameStore
    from talentflow.engine.run import observe_all
    from talentflow.partitions.status import counts, status

    day_keys = [str(FIRST + dt.timedelta(days=i)) for i in range(N_DAYS)]
    week_keys = day_keys[::7]
    bad, late = str(BAD_DAY), str(LATE_DAY)
    bad_week = weeks.key_for(days.window(bad)[0])
    late_week = weeks.key_for(days.window(late)[0])
    bound = defs.bind()

    def not_materialized(asset: str, keys: list[str]) -> dict[str, str]:
        with connect() as conn:
            observe_all(conn, [bound.get("sales")], {})  # what `talentflow status` does first
            conn.commit()
            return {s.key: s.status for s in status(conn, bound.get(asset), keys)
                    if s.status != "materialized"}

    t = time.perf_counter()
    volume = rows_per_day or generator.DEFAULT_ROWS_PER_DAY
    lines = generator.generate(FIRST, N_DAYS, rows_per_day=volume, negative_days=[BAD_DAY])
    with connect(vector=False) as conn:
        ensure_sales_table(conn)
        generator.insert(conn, lines)
        [(bad_id, bad_amount)] = conn.execute(
            "SELECT id, amount FROM sales WHERE amount < 0").fetchall()
    say.say(f"1. the feed: {len(lines):,} sale lines over {N_DAYS} days, {day_keys[0]} … "
            f"{day_keys[-1]} (~{len(lines) // N_DAYS:,} a day), in {time.perf_counter() - t:.1f} s;"
            f" on {bad} sale {bad_id} was keyed in as {bad_amount:.2f}")

    say.say(f"2. backfill sales_data+ over {day_keys[0]} … {day_keys[-1]} (one Prefect flow run):")
    with progress_bar():
        report = materialize(defs, ["sales_data+"], key_from=day_keys[0], key_to=day_keys[-1],
                             partition_set=days.name)
    for a in ASSETS:
        r = report.assets[a]
        say.say(f"   {a}: ran {len(r.ran)}, cached {len(r.cached)}, blocked {len(r.blocked)}"
                + (f", failed a blocking check {len(r.check_failed)}" if r.check_failed else ""))
    say.expect(report.assets["sales_data"].check_failed == {bad: "check failed: "
                                                            "no_negative_amounts"},
               f"{bad} failed the blocking check no_negative_amounts, and no other day did")
    say.expect(list(report.assets["sales_summary"].blocked) == [bad]
               and list(report.assets["weekly_sales"].blocked) == [bad_week]
               and _ran(report, "sales_summary") == [d for d in day_keys if d != bad]
               and _ran(report, "weekly_sales") == [w for w in week_keys if w != bad_week],
               f"exactly its downstream is held back: sales_summary[{bad}], "
               f"weekly_sales[{bad_week}]; every other day and week is materialized")

    say.say("3. status of the demo's days (`talentflow --definitions examples.daily_sales "
            "status` shows every day since 2024-01-01):")
    with connect() as conn:
        for a, keys in (("sales_data", day_keys), ("sales_summary", day_keys),
                        ("weekly_sales", week_keys)):
            tally = counts(conn, bound.get(a), keys)
            say.say(f"   {a:<14} " + "  ".join(f"{s} {n}" for s, n in tally.items() if n))
        failing = [s for s in status(conn, bound.get("sales_data"), day_keys)
                   if s.status == "failed"]
        for s in failing:
            say.say(f"   failed  {s.key}: {s.describe()}")
    say.expect([s.key for s in failing] == [bad], f"status shows {bad} failed, with its check")

    say.say("4. checks, latest result per key (`talentflow --definitions examples.daily_sales "
            "checks`):")
    with connect() as conn:
        tally = checking.summary(conn, [c.name for c in defs.checks])
    for c in defs.checks:
        kind = "blocking" if c.blocking else "warns"
        say.say(f"   {c.name:<21} ({c.asset_name}, {kind}): "
                + "  ".join(f"{o} {n}" for o, n in tally[c.name].items() if n))
    say.expect(tally["no_negative_amounts"]["failed"] == 1
               and tally["totals_reconcile"]["failed"] == 0
               and tally["week_adds_up"]["failed"] == 0,
               "one day failed its check; every summary and week that ran adds up")

    say.say(f"5. the till's line is corrected: sale {bad_id} becomes {-bad_amount:.2f}")
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        conn.execute("UPDATE sales SET amount = -amount WHERE id = %s", (bad_id,))
    say.expect(not_materialized("sales_data", day_keys) == {bad: "stale"},
               f"exactly one day is stale: sales_data[{bad}]")
    fixed = materialize(defs, ["sales_data+"], keys=[bad], partition_set=days.name)
    say.say(f"   materialize {bad}: {_line(fixed)}")
    say.expect(fixed.ok and [_ran(fixed, a) for a in ASSETS] == [[bad], [bad], [bad_week]],
               f"that day alone ran again, then its summary and its week {bad_week}")

    late_row = generator.late_rows(LATE_DAY, 1)  # its own stream: any volume
    with connect(vector=False) as conn:
        generator.insert(conn, late_row)
    say.say(f"6. a late sale for {late} arrives ({late_row['product'][0]}, "
            f"{late_row['amount'][0]:.2f} at {late_row['store_id'][0]}): the late-sales-sensor "
            "flow ticks")
    out = late_sales_sensor()
    sensed = report_from_dict(out)
    say.say(f"   rows changed on {', '.join(out['changed']) or 'no day'}: {_line(sensed)}")
    say.expect(out["keys"] == [late] and [_ran(sensed, a) for a in ASSETS]
               == [[late], [late], [late_week]],
               f"the sensor reprocessed exactly {late} and its week {late_week}")
    left = {a: not_materialized(a, keys) for a, keys in (
        ("sales_data", day_keys), ("sales_summary", day_keys), ("weekly_sales", week_keys))}
    say.expect(not any(left.values()), "every day and week is materialized and up to date")

    say.say("7. weekly revenue (weekly_sales, summed over regions):")
    with connect() as conn:
        stored = DataFrameStore().read(conn, "weekly_sales", week_keys)
    weekly = pd.DataFrame([{"week": k, "lines": int(s.value["orders"].sum()),
                            "revenue": float(s.value["revenue"].sum())}
                           for k, s in sorted(stored.items())])
    for row in weekly.itertuples():
        say.say(f"   {row.week}  {row.lines:>6,} lines  ${row.revenue:>11,.2f}")
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        total = conn.execute("SELECT sum(amount) FROM sales WHERE quantity <> 0").fetchone()[0]
    say.expect(abs(weekly["revenue"].sum() - total) < 0.01,
               f"the weeks add up to the sales table's total, ${total:,.2f} (in {TIMEZONE})")


def main() -> int:
    from talentflow import config

    external = os.environ.get("DATABASE_URL")
    if external:  # a server of the user's: a database of the demo's own on it
        name, where = DEMO_DATABASE, None
    else:  # a state folder of the demo's own: its embedded PostgreSQL and Prefect home
        where = config.state_dir() / DEMO_STATE
        os.environ["TALENTFLOW_HOME"] = str(where)
        from talentflow.db.embedded import DATABASE_NAME as name
    # As the talentflow command does, before anything imports prefect; and a quiet terminal:
    # the story is what this prints (run logs stay on the runs' pages).
    os.environ["PREFECT_HOME"] = str(config.state_dir() / "prefect")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    config.apply_runtime_defaults()
    # A fresh database deserves a fresh per-partition cache: values cached by an earlier demo
    # would be served (correctly) and the story would say "cached" where it means "ran".
    results = Path(tempfile.mkdtemp(prefix="tf-daily-sales-demo-"))
    os.environ["PREFECT_LOCAL_STORAGE_PATH"] = str(results)
    started = time.perf_counter()
    say = Story()
    try:
        url = fresh_database(name)
        say.say(f"daily sales demo: a fresh database {name!r} "
                + (f"in {_shown(where)}" if where else "on DATABASE_URL's server")
                + ", days and weeks in America/New_York")
        _guard(say, run_story)
    finally:
        shutil.rmtree(results, ignore_errors=True)
    took = time.perf_counter() - started
    if say.broken:
        say.say(f"the story did NOT hold ({len(say.broken)} step(s) above) — {took:.1f} s")
        return 1
    from talentflow.db.engine import describe

    say.say(f"the story held, in {took:.1f} s. Look around:")
    say.say(f"   export TALENTFLOW_HOME={_shown(where)}" if where else
            f"   export DATABASE_URL='{describe(url)}'   # your password for ***")
    for line in ("python -m examples.daily_sales.generator --days 0 --late 2024-01-05"
                 "   # a late sale",
                 "talentflow --definitions examples.daily_sales status   # 2024-01-05 is stale",
                 "talentflow --definitions examples.daily_sales materialize sales_data+ "
                 "--partition 2024-01-05",
                 "talentflow --definitions examples.daily_sales checks"):
        say.say(f"   {line}")
    return 0


def _shown(path: Path) -> str:
    """A path as a user types it: relative to here when it is below here."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _guard(say: Story, step: Callable[[Story], None]) -> None:
    """A step that raises breaks the story; the exception is part of what is printed."""
    try:
        step(say)
    except Exception as exc:  # noqa: BLE001 - reported, then the exit code says so
        say.expect(False, f"{type(exc).__name__}: {exc}")


if __name__ == "__main__":
    sys.exit(main())
