"""Benchmark of the partition layer; prints one JSON object.

    .venv/bin/python bench/partitions.py                  # 100k keys, temporary embedded PostgreSQL
    .venv/bin/python bench/partitions.py --keys 1000000   # a million
    DATABASE_URL=postgresql://... .venv/bin/python bench/partitions.py

Scenario (all real PostgreSQL, no mocks): a dynamic set of 100k keys; a source asset `raw`
observed for every key; `clean` (Identity on raw) and `scored` (Identity on clean + AllOf a
1,000-key `reference` source) materialized with realistic history: 2k keys never
materialized, 1k failed, 5k computed by older code, 1k whose clean upstream changed since.
A run plans from `needing_work` (only keys that are not up to date come back). Times are
wall-clock seconds, best of `--repeat` for the read paths; the 1,000-key status is repeated
`--tail-repeat` times on random keys and its p50/p99/max reported, right after the load (no
ANALYZE, autovacuum free to start meanwhile: the conditions of the 6.1 s outlier once seen).
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    return _best(fn, 1)


def _tail(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    samples.sort()
    at = min(len(samples) - 1, round(0.99 * (len(samples) - 1)))
    return {"p50": samples[len(samples) // 2], "p99": samples[at], "max": samples[-1],
            "n": len(samples)}


def run(n_keys: int, n_ref: int, n_plan: int, repeat: int, tail_repeat: int
        ) -> dict[str, Any]:
    from talentflow.db import connect, migrate
    from talentflow.partitions import (
        AllOf,
        Asset,
        Dep,
        DynamicPartitions,
        Record,
        counts,
        current_inputs,
        needing_work,
        observe,
        record_many,
        registry,
        source_asset,
        status,
    )
    from talentflow.partitions.status import iter_status

    migrate.upgrade()
    run_id = uuid.uuid4().hex[:8]  # unique names: safe on a shared DATABASE_URL
    items = DynamicPartitions(f"bench-items-{run_id}")
    refs = DynamicPartitions(f"bench-refs-{run_id}")
    raw = source_asset(f"bench-raw-{run_id}", items)
    reference = source_asset(f"bench-reference-{run_id}", refs)
    clean = Asset(f"bench-clean-{run_id}", items, deps=[Dep(raw)], version="1")
    scored = Asset(f"bench-scored-{run_id}", items,
                   deps=[Dep(clean), Dep(reference, AllOf())], version="1")
    keys = [f"item-{i:07d}" for i in range(n_keys)]
    ref_keys = [f"ref-{i:05d}" for i in range(n_ref)]
    out: dict[str, Any] = {"keys": n_keys, "reference_keys": n_ref}

    with connect(autocommit=True) as conn:
        out["add_keys_s"], added = _timed(lambda: registry.add_keys(conn, items.name, keys))
        assert added == n_keys
        out["add_keys_again_s"], _ = _timed(lambda: registry.add_keys(conn, items.name, keys))
        registry.add_keys(conn, refs.name, ref_keys)

        out["observe_s"], _ = _timed(
            lambda: observe(conn, raw, [(k, f"row-{k}") for k in keys]))
        observe(conn, reference, [(k, f"ref-{k}") for k in ref_keys])

        def materialize(asset: Asset, selection: list[str], tag: str = "v",
                        code: str | None = None) -> None:
            inputs = current_inputs(conn, asset, selection)
            record_many(conn, asset, [Record(k, f"{tag}:{k}", code, inputs[k])
                                      for k in selection])

        out["current_inputs_s"], _ = _timed(lambda: current_inputs(conn, clean, keys))
        out["record_many_s"], _ = _timed(lambda: materialize(clean, keys))
        # One batch of 100k (the unit): new data versions for keys already recorded.
        batch = keys[:100_000]
        out["record_many_100k_s"], _ = _best(
            lambda: materialize(clean, batch, tag=f"b{time.perf_counter_ns()}"), repeat)
        materialize(clean, keys[:100_000])  # back to the versions the scenario expects

        missing, failed = keys[:2000], keys[2000:3000]
        old_code, upstream_changed = keys[3000:8000], keys[8000:9000]
        done = keys[2000:]
        materialize(scored, done)
        record_many(conn, scored, [Record(k, None, status="failed", error="TimeoutError")
                                   for k in failed])
        materialize(scored, old_code, code="old-code-version")
        materialize(clean, upstream_changed, tag="edited")
        # A history of several runs per key for part of the set, as after days of use.
        for _ in range(3):
            materialize(scored, keys[50_000:60_000])

        out["status_s"], rows = _best(lambda: status(conn, scored), repeat)
        assert len(rows) == n_keys
        del rows
        out["counts_s"], tally = _best(lambda: counts(conn, scored), repeat)
        out["status_counts"] = tally
        assert tally["missing"] == len(missing) and tally["failed"] == len(failed)
        assert tally["stale"] == len(old_code) + len(upstream_changed)
        # What `talentflow status` does: every key streamed in chunks, propagated, one pass.
        out["status_streamed_s"], n = _best(
            lambda: sum(1 for _ in iter_status(conn, scored, propagate=True)), repeat)
        assert n == n_keys

        # What a run plans from: the keys that are not up to date, with their reasons.
        out["plan_all_s"], work = _best(lambda: needing_work(conn, scored), repeat)
        assert work.up_to_date == n_keys - len(missing) - len(failed) - tally["stale"]
        unchanged = keys[-n_plan:]
        out["plan_unchanged_s"], work = _best(lambda: needing_work(conn, scored, unchanged),
                                              repeat)
        assert work.keys == [] and work.up_to_date == n_plan
        out["plan_unchanged_keys"] = n_plan

        pick = random.Random(7)
        out["status_1k_s"] = _tail(
            lambda: status(conn, scored, pick.sample(keys, 1000)), tail_repeat)
        out["counts_1k_s"] = _tail(
            lambda: counts(conn, scored, pick.sample(keys, 1000)), tail_repeat)

        observe(conn, reference, [(ref_keys[n_ref // 2], "edited")])
        out["status_all_stale_via_all_of_s"], rows = _best(lambda: status(conn, scored), repeat)
        assert sum(r.status == "stale" for r in rows) == n_keys - len(missing) - len(failed)
        out["example_reason"] = rows[-1].reasons[0]
        del rows
        out["postgres"] = conn.execute("SHOW server_version").fetchone()[0]
        # Sizes (tables + indexes) for extrapolating to larger sets; on a shared DATABASE_URL
        # they include everything else stored there.
        out["table_mb"] = {t: round(n / 2**20) for t, n in conn.execute(
            "SELECT t, pg_total_relation_size(t::regclass) FROM unnest(%s::text[]) AS t",
            (["partition_keys", "partition_latest", "materializations",
              "materialization_inputs"],)).fetchall()}
        out["history_rows"] = conn.execute("SELECT count(*) FROM materializations").fetchone()[0]
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    out["cpus"] = os.cpu_count()
    out["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--reference-keys", type=int, default=1_000)
    parser.add_argument("--plan-keys", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tail-repeat", type=int, default=30,
                        help="repetitions of the 1,000-key status for its p99 (≥ 20)")
    args = parser.parse_args()
    if args.keys < 70_000:
        parser.error("--keys must be at least 70000 (the scenario slices fixed ranges)")
    if not os.environ.get("DATABASE_URL"):
        temp = tempfile.mkdtemp(prefix="tf-bench-")
        os.environ["TALENTFLOW_HOME"] = temp
        # Registered before the server starts: atexit runs last-in first-out, so the embedded
        # server's own stop handler runs first and the data directory is removed after.
        atexit.register(shutil.rmtree, temp, True)
    if args.tail_repeat < 20:
        parser.error("--tail-repeat must be at least 20 (a p99 of fewer is the max)")
    result = run(args.keys, args.reference_keys, args.plan_keys, args.repeat, args.tail_repeat)
    def rounded(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: rounded(x) for k, x in v.items()}
        return round(v, 4) if isinstance(v, float) else v

    print(json.dumps(rounded(result), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
