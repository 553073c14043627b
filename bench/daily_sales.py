"""Benchmark of the daily sales system (examples/daily_sales); prints one JSON object.

    .venv/bin/python bench/daily_sales.py                        # 730 days x ~1,000 rows
    .venv/bin/python bench/daily_sales.py --days 60 --rows-per-day 200
    .venv/bin/python bench/daily_sales.py --profile              # + cProfile of the backfill

Temporary embedded PostgreSQL and PREFECT_HOME; the engine's tables alone. The sales table is
filled by the generator (seeded) with one COPY, then:

- `backfill_s`: one `materialize(defs, ["sales_data+"], key_from, key_to)` over the days, with
  every check: the sales source observed, each day's rows read and hashed in SQL, sale lines
  cleaned and stored (DataFrameStore, COPY), daily summaries, weekly rollups, five checks.
  Prefect's ephemeral API is started before the clock (`prefect_start_s`). `backfill_cpu_s`:
  the CPU seconds it took in this process, in PostgreSQL and in the Prefect API server — the
  figures a busy machine does not inflate.
- `status_s`: `talentflow.partitions.status.status` of sales_data, sales_summary (the days) and
  weekly_sales (the weeks) — every key with its reasons, as Python objects — median of
  `--repeat`; `counts_s` the same counted in SQL; `observe_s` observing the sales table (what
  `talentflow status` does before), apart.
- `rerun_s`: the same backfill again: nothing runs. (A range whose last week is cut still starts
  a flow run: that week's key is missing, planned, and blocked again.)
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
_home = Path(tempfile.mkdtemp(prefix="tf-bench-sales-"))
# Registered first, so it runs last (atexit is last-in first-out): the embedded server's stop
# handler runs before its data directory is removed.
atexit.register(shutil.rmtree, _home, True)
os.environ["TALENTFLOW_HOME"] = str(_home / "state")
os.environ["PREFECT_HOME"] = str(_home / "prefect")
os.environ.pop("DATABASE_URL", None)
from talentflow import config  # noqa: E402 - after the environment points at the temp dir

config.apply_runtime_defaults()

TARGETS = {"backfill_s": 30.0, "status_s": 0.050}
START = dt.date(2024, 1, 1)
COMPUTED = ("sales_data", "sales_summary", "weekly_sales")


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _proc_stats() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds of it and of its children already waited for)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command: state, ppid, ... utime (12), stime, cutime, cstime (15).
        out[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]) / tick)
    return out


def cpu_seconds() -> dict[str, float]:
    """CPU used so far by this process, by the embedded PostgreSQL (postmaster and backends)
    and by this process's children (Prefect's ephemeral API server). On a busy machine the
    wall clock measures the neighbours too; these do not."""
    from talentflow.db import embedded

    stats = _proc_stats()

    def tree(root: int | None) -> float:
        if root is None or root not in stats:
            return 0.0
        todo, total = [root], 0.0
        while todo:
            pid = todo.pop()
            total += stats[pid][1]
            todo += [p for p, (parent, _) in stats.items() if parent == pid]
        return total

    postmaster = embedded.postmaster_pid(config.state_dir())
    children = [p for p, (parent, _) in stats.items() if parent == os.getpid()
                and p != postmaster]
    return {"python": time.process_time(), "postgres": tree(postmaster),
            "prefect_server": sum(tree(p) for p in children)}


def profile(fn: Callable[[], Any]) -> str:
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(30)
    return buf.getvalue()


def fill(days: int, rows_per_day: int) -> dict[str, Any]:
    from examples.daily_sales import generator
    from examples.daily_sales.table import ensure_sales_table
    from talentflow.db import connect, migrate

    migrate.upgrade([])
    generate_s, lines = _timed(lambda: generator.generate(START, days,
                                                          rows_per_day=rows_per_day))
    with connect(vector=False) as conn:
        ensure_sales_table(conn)
        insert_s, _ = _timed(lambda: generator.insert(conn, lines))
        conn.execute("ANALYZE sales")  # as a live table would be; the window reads use sold_at
    return {"rows": len(lines), "generate_s": round(generate_s, 3),
            "insert_s": round(insert_s, 3)}


def start_prefect() -> float:
    from prefect import flow

    @flow(name="bench-warm-up")
    def warm_up() -> None:
        return None

    seconds, _ = _timed(warm_up)
    return seconds


def status_times(day_keys: list[str], week_keys: list[str], repeat: int) -> dict[str, Any]:
    from examples.daily_sales import defs
    from talentflow.db import connect
    from talentflow.engine.run import observe_all
    from talentflow.partitions.status import counts, status

    bound = defs.bind()
    keys = {"sales_data": day_keys, "sales_summary": day_keys, "weekly_sales": week_keys}
    per_asset: dict[str, list[float]] = {a: [] for a in COMPUTED}
    totals, count_totals, observe = [], [], []
    states: dict[str, dict[str, int]] = {}
    with connect() as conn:
        for _ in range(repeat):
            seconds, _ = _timed(lambda: observe_all(conn, [bound.get("sales")], {}))
            conn.commit()
            observe.append(seconds)
            total = 0.0
            for a in COMPUTED:
                seconds, rows = _timed(lambda a=a: status(conn, bound.get(a), keys[a]))
                per_asset[a].append(seconds)
                total += seconds
                states[a] = {}
                for r in rows:
                    states[a][r.status] = states[a].get(r.status, 0) + 1
            totals.append(total)
            t0 = time.perf_counter()
            for a in COMPUTED:
                counts(conn, bound.get(a), keys[a])
            count_totals.append(time.perf_counter() - t0)
    return {
        "status_s": round(statistics.median(totals), 4),
        "status_samples_s": [round(x, 4) for x in totals],
        "status_by_asset_s": {a: round(statistics.median(v), 4) for a, v in per_asset.items()},
        "counts_s": round(statistics.median(count_totals), 4),
        "observe_s": round(statistics.median(observe), 3),
        "statuses": states,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from examples.daily_sales import defs
    from examples.daily_sales.partitions import days, weeks
    from talentflow.engine import materialize

    day_keys = [str(START + dt.timedelta(days=i)) for i in range(args.days)]
    out: dict[str, Any] = {"days": args.days, "rows_per_day": args.rows_per_day,
                           "load_average_at_start": _load()}
    out.update(fill(args.days, args.rows_per_day))
    out["prefect_start_s"] = round(start_prefect(), 2)

    def backfill():
        return materialize(defs, ["sales_data+"], key_from=day_keys[0], key_to=day_keys[-1],
                           partition_set=days.name)

    if args.profile:
        seconds, report = _timed(lambda: print(profile(backfill), file=sys.stderr))
        out["backfill_profiled"] = True
        report = None
    else:
        before = cpu_seconds()
        seconds, report = _timed(backfill)
        after = cpu_seconds()
        out["backfill_cpu_s"] = {k: round(after[k] - before[k], 2) for k in after}
    out["backfill_s"] = round(seconds, 2)
    out["load_average_after_backfill"] = _load()
    if report is not None:
        out["backfill_ok"] = report.ok
        out["ran"] = {a: len(r.ran) for a, r in report.assets.items()}
        out["blocked"] = {a: sorted(r.blocked) for a, r in report.assets.items() if r.blocked}
        out["checks"] = {n: t for r in report.assets.values() for n, t in r.checks.items()}
        # Inside the flow run (Run.execute: observe, plan, per asset read / compute / record /
        # check); backfill_s adds materialize()'s own observe and bulk status before it.
        out["flow_seconds"] = report.seconds
        out["asset_seconds"] = {a: r.seconds for a, r in report.assets.items()}
    rerun_s, again = _timed(backfill)
    out["rerun_s"] = round(rerun_s, 3)
    out["rerun_ran"] = {a: len(r.ran) + len(r.cached) for a, r in again.assets.items()}
    out["rerun_flow_run"] = again.flow_run_id is not None

    lo, hi = days.window(day_keys[0])[0], days.window(day_keys[-1])[1]
    week_keys = [w for w in weeks.keys_between(lo, hi)  # the weeks the days fill
                 if weeks.window(w)[0] >= lo and weeks.window(w)[1] <= hi]
    out.update(status_times(day_keys, week_keys, args.repeat))
    out["targets"] = TARGETS
    out["meets"] = {"backfill_s": out["backfill_s"] <= TARGETS["backfill_s"],
                    "status_s": out["status_s"] <= TARGETS["status_s"]}
    from talentflow.db import connect

    with connect(vector=False) as conn:
        out["postgres"] = conn.execute("SHOW server_version").fetchone()[0]
    import pandas
    import prefect

    out["prefect"], out["pandas"] = prefect.__version__, pandas.__version__
    out["cpus"] = os.cpu_count()
    out["load_average_at_end"] = _load()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=730, help="days from 2024-01-01")
    parser.add_argument("--rows-per-day", type=int, default=1000,
                        help="sale lines of an ordinary day (the generator's volume)")
    parser.add_argument("--repeat", type=int, default=7, help="status samples (median)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the backfill (top 30 by cumulative time on stderr; "
                             "its time then includes the profiler's)")
    args = parser.parse_args()
    if args.days < 7 or args.rows_per_day < 1 or args.repeat < 1:
        parser.error("--days must be ≥ 7, --rows-per-day and --repeat ≥ 1")
    # Anything the libraries print goes to stderr: stdout carries the JSON alone.
    with contextlib.redirect_stdout(sys.stderr):
        result = run(args)
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
