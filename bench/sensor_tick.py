"""Bench: what one sensor tick costs on a 100k-row table.

Fresh embedded PostgreSQL in a temporary folder, migrated; `--rows` candidates inserted in
bulk; one tick hands them all on (bursts -> batch runs, recorded, not run). Then timed:

* an idle tick (nothing new): the one every interval/NOTIFY pays when nothing changed (on a
  kept connection, as `talentflow serve` ticks, and opening one, as the CLI does);
* a tick that finds 1 new row, and one that finds `burst` (50) rows: events built and handed
  to a recording dispatcher (no Prefect server: this times the database side);
* EXPLAIN ANALYZE of the cursor query itself (index range scan on change_seq).

Prints one JSON object. Run: `.venv/bin/python bench/sensor_tick.py [--rows 100000]`.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
_home = Path(tempfile.mkdtemp(prefix="tf-bench-sensor-"))
# Before the embedded server registers its exit handler, so this runs after PostgreSQL stops.
atexit.register(shutil.rmtree, _home, True)
os.environ["TALENTFLOW_HOME"] = str(_home / "state")
os.environ["PREFECT_HOME"] = str(_home / "prefect")
os.environ.pop("DATABASE_URL", None)
os.environ.pop("PREFECT_API_URL", None)


class Recorder:
    def __init__(self) -> None:
        self.events = 0
        self.batches = 0

    def send_events(self, batch) -> None:
        self.events += len(batch)

    def start_batch(self, ent, keys, idempotency_key) -> str:
        self.batches += 1
        return "recorded"

    def after_commit(self) -> list[str]:
        return []


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median_ms": round(statistics.median(ordered) * 1000, 2),
            "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))] * 1000, 2),
            "n": len(ordered)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    from flows import sensors
    from talentflow.db import connect, migrate

    migrate.upgrade()
    t0 = time.perf_counter()
    with connect(vector=False) as conn:
        conn.execute(
            "INSERT INTO candidates (id, name, cv_text) SELECT 'c-' || lpad(g::text, 7, '0'), "
            "'Name ' || g, 'Python engineer, ' || g || ' years' FROM generate_series(1, %s) g",
            (args.rows,))
    load_s = time.perf_counter() - t0
    with connect(vector=False) as conn:
        conn.execute("ANALYZE candidates")

    rec = Recorder()
    t0 = time.perf_counter()
    first = sensors.tick(dispatcher=rec)
    first_s = time.perf_counter() - t0

    import psycopg

    from talentflow.db.engine import database_url

    # What `talentflow serve`'s listener does: one connection kept for all ticks.
    kept = psycopg.connect(database_url(), autocommit=True)

    def timed(setup=None, conn=kept) -> float:
        if setup:
            setup()
        t = time.perf_counter()
        sensors.tick(dispatcher=Recorder(), conn=conn)
        return time.perf_counter() - t

    idle = [timed() for _ in range(args.repeat)]
    idle_fresh = [timed(conn=None) for _ in range(args.repeat)]
    counter = iter(range(10**9))

    def add(n: int):
        def go() -> None:
            with connect(vector=False) as conn:
                base = next(counter) * 1000
                for i in range(n):
                    conn.execute("INSERT INTO candidates (id, name, cv_text) VALUES (%s, 'n', 'x')",
                                 (f"new-{base + i}",))
        return go

    one = [timed(add(1)) for _ in range(args.repeat)]
    burst = [timed(add(sensors.DEFAULT_BURST)) for _ in range(max(5, args.repeat // 3))]

    with connect(vector=False) as conn:
        position = conn.execute("SELECT max(change_seq) FROM candidates").fetchone()[0]
        plan = [r[0] for r in conn.execute(
            "EXPLAIN (ANALYZE, BUFFERS) SELECT id, change_seq, content_hash FROM candidates "
            "WHERE change_seq > %s ORDER BY change_seq LIMIT %s",
            (position, sensors.DEFAULT_PAGE_SIZE)).fetchall()]

    print(json.dumps({
        "bench": "sensor_tick",
        "rows_in_table": args.rows,
        "bulk_insert_s": round(load_s, 2),
        "first_tick_hands_on_all_rows_s": round(first_s, 3),
        "first_tick_batch_runs": rec.batches,
        "first_tick_tables": {t: r["rows"] for t, r in first["tables"].items()},
        "idle_tick": _stats(idle),
        "idle_tick_opening_a_connection": _stats(idle_fresh),
        "tick_with_1_new_row": _stats(one),
        f"tick_with_{sensors.DEFAULT_BURST}_new_rows": _stats(burst),
        "cursor_query_plan": plan,
        "note": "a tick covers both tables (candidates, jobs), a transaction each, on one "
                "connection kept open (as serve's listener does) unless marked otherwise",
        "cpus": os.cpu_count(),
    }, indent=2))


if __name__ == "__main__":
    main()
