"""Benchmark of the engine end to end on a 3-asset chain; prints one JSON object.

    .venv/bin/python bench/engine_chain.py                       # 1,000 keys, no-op over 100k
    .venv/bin/python bench/engine_chain.py --keys 10000
    .venv/bin/python bench/engine_chain.py --noop-keys 0         # skip the no-op figure

The chain (as tests/engine/chain.py): a source asset `raw` over a DynamicPartitions reading a
real table (rows loaded with COPY, keys registered as new rows would be), `clean` (single-key,
Identity on raw: the engine runs up to 1,000 keys per Prefect task run) and `report`
(batch-aware, 256 keys per task run). Each measurement gets its own table, partition set and
asset names, so no figure sees another's rows, status or per-partition cache entries.

- `cold_s`: the first `materialize` call of the process over `--keys` missing keys, Prefect's
  ephemeral API start included (a new PREFECT_HOME: its database is created then).
- `warm_s`: median of `--repeat` calls, each over `--keys` new keys, after the cold one.
- `noop_s`: median of `--repeat` `materialize` calls over `--noop-keys` keys that are all up
  to date: observe the source (its loader over every key), bulk status, no flow run.
  The 100k keys are made up to date by writing what a run would write, in bulk (values,
  observations and materialization records with the inputs `current_inputs` gives), not by
  running them (`--noop-setup materialize` runs them instead; it takes minutes).
Variants: `--observer` gives the source an observer (each row's md5 computed by PostgreSQL;
the loader returns the same versions), so observing reads versions, not rows; `--no-cache`
declares clean and report with cache=False (no per-partition result files).
Times are wall-clock seconds in this process; temporary embedded PostgreSQL and PREFECT_HOME.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import cProfile
import hashlib
import io
import json
import math
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
_home = Path(tempfile.mkdtemp(prefix="tf-bench-engine-"))
# Registered first, so it runs last (atexit is last-in first-out): the embedded server's stop
# handler runs before its data directory is removed.
atexit.register(shutil.rmtree, _home, True)
os.environ["TALENTFLOW_HOME"] = str(_home / "state")
os.environ["PREFECT_HOME"] = str(_home / "prefect")
os.environ.pop("DATABASE_URL", None)
from talentflow import config  # noqa: E402 - after the environment points at the temp dir

config.apply_runtime_defaults()

TARGETS = {"1000_keys_s": 5.0, "10000_keys_s": 30.0, "noop_100k_s": 2.0}
CLEAN_KEYS_PER_TASK = 1000  # partitions.assets.DEFAULT_KEY_BATCH, for single-key functions
REPORT_BATCH = 256


class Chain:
    """One raw -> clean -> report chain on its own table and partition set."""

    def __init__(self, tag: str, *, observer: bool = False, cache: bool = True) -> None:
        from talentflow.engine import Definitions, Dep, Output, asset
        from talentflow.partitions import DynamicPartitions

        self.tag = tag
        self.table = f"items_{tag}"
        table = self.table
        items = DynamicPartitions(f"items-{tag}")

        if observer:
            # Versions computed by PostgreSQL: observing reads (key, md5) pairs, not rows.
            def versions(conn: Any) -> list[tuple[str, str]]:
                return conn.execute(f"SELECT id, md5(body) FROM {table}").fetchall()

            @asset(name=f"raw_{tag}", partitions=items, source=True, observer=versions)
            def raw(ctx) -> dict[str, Any]:
                rows = ctx.conn.execute(
                    f"SELECT id, body, md5(body) FROM {table} WHERE id = ANY(%s)", [ctx.keys])
                return {k: Output(body, data_version=v) for k, body, v in rows}
        else:
            @asset(name=f"raw_{tag}", partitions=items, source=True)
            def raw(ctx) -> dict[str, str]:  # observed rows, versioned by content
                rows = ctx.conn.execute(f"SELECT id, body FROM {table} WHERE id = ANY(%s)",
                                        [ctx.keys])
                return dict(rows.fetchall())

        # Parameters name upstream assets; the names carry the tag, so Dep(param=) maps them.
        @asset(name=f"clean_{tag}", partitions=items, deps=[Dep(raw, param="raw")],
               cache=cache)
        def clean(raw: str) -> dict[str, str]:  # single-key: one call per key
            return {"v": raw.strip().lower()}

        @asset(name=f"report_{tag}", partitions=items, batch_size=REPORT_BATCH,
               deps=[Dep(clean, param="clean")], retries=2, retry_delay_s=0, cache=cache)
        def report(ctx, clean: dict[str, dict]) -> dict[str, dict]:  # one batch at a time
            return {k: {"len": len(c["v"])} for k, c in clean.items()}

        self.observer = observer
        self.items, self.raw, self.clean, self.report = items, raw, clean, report
        self.defs = Definitions(assets=[raw, clean, report], name=f"bench-{tag}")

    def create(self) -> None:
        from talentflow.db import connect

        with connect(vector=False) as conn:
            conn.execute(f"CREATE TABLE {self.table} (id text PRIMARY KEY, body text NOT NULL)")

    def add_rows(self, keys: list[str]) -> None:
        """Rows in with COPY, keys registered (as a sensor or an ingest would)."""
        from talentflow.db import connect
        from talentflow.partitions import registry

        with connect(vector=False) as conn:
            with conn.cursor().copy(f"COPY {self.table} (id, body) FROM STDIN") as copy:
                for k in keys:
                    copy.write_row((k, body_of(k)))
            registry.add_keys(conn, self.items.name, keys)


def body_of(key: str) -> str:
    return f"  Body of {key.upper()} with Some Text  "


def _clean(raw: str) -> dict[str, str]:  # what clean computes, for the no-op set-up
    return {"v": raw.strip().lower()}


def _keys(prefix: str, n: int) -> list[str]:
    return [f"{prefix}-{i:07d}" for i in range(n)]


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _expected_tasks(n: int) -> int:
    return math.ceil(n / CLEAN_KEYS_PER_TASK) + math.ceil(n / REPORT_BATCH)


def _check(report: Any, chain: Chain, n: int) -> None:
    done = {a: len(r.done) for a, r in report.assets.items()}
    want = {chain.clean.name: n, chain.report.name: n}
    if done != want or not report.ok:
        raise SystemExit(f"engine_chain: expected {want} done, got {done}, "
                         f"failed {report.failed}")


def end_to_end(tag: str, n: int, args: argparse.Namespace) -> tuple[float, str | None]:
    """A new chain with `n` missing keys; the seconds of one materialize call."""
    from talentflow.engine import materialize

    chain = Chain(tag, observer=args.observer, cache=not args.no_cache)
    chain.create()
    chain.add_rows(_keys(tag, n))
    seconds, report = _timed(lambda: materialize(chain.defs))
    _check(report, chain, n)
    return seconds, report.flow_run_id


def noop_chain(n: int, setup: str, args: argparse.Namespace) -> tuple[Chain, float]:
    """A chain whose `n` keys are all up to date; returns it and the setup seconds."""
    from talentflow.db import connect
    from talentflow.engine import materialize
    from talentflow.engine.stores import DEFAULT_STORE
    from talentflow.partitions import Record, current_inputs, observe, record_many
    from talentflow.partitions.versions import data_version

    chain = Chain("noop", observer=args.observer, cache=not args.no_cache)
    chain.create()
    keys = _keys("noop", n)
    t0 = time.perf_counter()
    chain.add_rows(keys)
    if setup == "materialize":
        _check(materialize(chain.defs), chain, n)
        return chain, time.perf_counter() - t0
    bound = chain.defs.bind()  # the code versions a run would record
    raw, clean, report = (bound.get(a.name) for a in (chain.raw, chain.clean, chain.report))
    with connect(vector=False) as conn:
        # What read_source records: the loader's versions (content hash, or md5 in SQL).
        version = (lambda b: hashlib.md5(b.encode()).hexdigest()) if chain.observer \
            else data_version
        observe(conn, raw, [(k, version(body_of(k))) for k in keys])
    for asset, value in ((clean, lambda k: _clean(body_of(k))),
                         (report, lambda k: {"len": len(_clean(body_of(k))["v"])})):
        for start in range(0, n, 10_000):  # as a run would: a batch at a time
            chunk = keys[start:start + 10_000]
            with connect(vector=False) as conn, conn.transaction():
                inputs = current_inputs(conn, asset, chunk)
                values = {k: value(k) for k in chunk}
                items = {k: (v, DEFAULT_STORE.version(v)) for k, v in values.items()}
                record_many(conn, asset, [Record(k, items[k][1], inputs=inputs[k])
                                          for k in chunk])
                DEFAULT_STORE.write(conn, asset.name, items)
    return chain, time.perf_counter() - t0


def noop_parts(chain: Chain, repeat: int) -> dict[str, float]:
    """The no-op call's two halves, each timed alone (medians): observing the source, and
    the bulk status of clean and report (`engine.pending`, no observing)."""
    from talentflow.db import connect
    from talentflow.engine import pending
    from talentflow.engine.run import KeySelection, observe_all, sources_of

    bound = chain.defs.bind()
    observe_s, status_s = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        with connect() as conn:
            observe_all(conn, sources_of(bound, bound.assets), bound.resource_values)
        observe_s.append(time.perf_counter() - t0)
        seconds, todo = _timed(lambda: pending(bound, bound.assets, KeySelection(),
                                               observe=False))
        assert todo == {}, todo
        status_s.append(seconds)
    return {"noop_observe_source_s": round(statistics.median(observe_s), 3),
            "noop_bulk_status_s": round(statistics.median(status_s), 3)}


def task_runs(flow_run_ids: list[str]) -> dict[str, dict[str, int]]:
    """Task runs Prefect recorded per flow run, by state (waits for late state events)."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    out: dict[str, dict[str, int]] = {}
    with get_client(sync_client=True) as client:
        for run_id in flow_run_ids:
            states: dict[str, int] = {}
            for _ in range(20):
                runs, offset = [], 0
                while True:
                    page = client.read_task_runs(
                        flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(run_id)])),
                        limit=200, offset=offset)
                    runs += page
                    offset += len(page)
                    if len(page) < 200:
                        break
                states = {}
                for r in runs:
                    name = r.state.type.value if r.state else "NONE"
                    states[name] = states.get(name, 0) + 1
                if set(states) <= {"COMPLETED"}:
                    break
                time.sleep(0.5)
            out[run_id] = states
    return out


def profile(fn: Callable[[], Any], top: int = 25) -> str:
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(top)
    return buf.getvalue()


def run(args: argparse.Namespace) -> dict[str, Any]:
    from talentflow.db import connect, migrate
    from talentflow.engine import materialize

    out: dict[str, Any] = {"keys": args.keys, "repeat": args.repeat,
                           "source_observer": args.observer, "cache": not args.no_cache,
                           "load_average_at_start": _load()}
    t0 = time.perf_counter()
    migrate.upgrade(locations=[])  # the engine's tables alone
    out["migrate_s"] = round(time.perf_counter() - t0, 3)
    n = args.keys
    flow_runs: dict[str, str] = {}

    cold, run_id = end_to_end("cold", n, args)
    flow_runs["cold"] = run_id or ""
    out["cold_s"] = round(cold, 3)
    warm = []
    for i in range(args.repeat):
        seconds, run_id = end_to_end(f"warm{i}", n, args)
        warm.append(seconds)
        flow_runs[f"warm{i}"] = run_id or ""
    out["warm_s"] = round(statistics.median(warm), 3)
    out["warm_samples_s"] = [round(x, 3) for x in warm]
    target = TARGETS.get(f"{n}_keys_s")
    out["target_s"] = target
    if target is not None:
        out["cold_meets_target"] = cold <= target
        out["warm_meets_target"] = out["warm_s"] <= target
    out["expected_task_runs_per_run"] = _expected_tasks(n)
    out["keys_per_task_run"] = {"clean": CLEAN_KEYS_PER_TASK, "report": REPORT_BATCH}
    out["load_average_after_end_to_end"] = _load()

    if args.noop_keys:
        chain, setup_s = noop_chain(args.noop_keys, args.noop_setup, args)
        out["noop_keys"] = args.noop_keys
        out["noop_setup"] = args.noop_setup
        out["noop_setup_s"] = round(setup_s, 2)
        samples = []
        for _ in range(args.repeat):
            seconds, report = _timed(lambda: materialize(chain.defs))
            if report.flow_run_id is not None or report.did_work:
                raise SystemExit(f"engine_chain: the no-op call did work: {report.to_dict()}")
            samples.append(seconds)
        out["noop_s"] = round(statistics.median(samples), 3)
        out["noop_samples_s"] = [round(x, 3) for x in samples]
        out["noop_target_s"] = TARGETS["noop_100k_s"]
        out["noop_meets_target"] = out["noop_s"] <= TARGETS["noop_100k_s"]
        out.update(noop_parts(chain, args.repeat))
        if args.profile == "noop":
            print(profile(lambda: materialize(chain.defs)), file=sys.stderr)
    if args.profile == "warm":
        print(profile(lambda: end_to_end("profiled", n, args)), file=sys.stderr)

    out["task_runs_by_flow_run"] = {k: task_runs([v])[v] for k, v in flow_runs.items() if v}
    with connect(vector=False) as conn:
        out["postgres"] = conn.execute("SHOW server_version").fetchone()[0]
    import prefect

    out["prefect"] = prefect.__version__
    out["cpus"] = os.cpu_count()
    out["load_average_at_end"] = _load()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000,
                        help="keys of the end-to-end runs (cold and warm)")
    parser.add_argument("--noop-keys", type=int, default=100_000,
                        help="up-to-date keys of the no-op call (0: skip it)")
    parser.add_argument("--noop-setup", choices=("record", "materialize"), default="record",
                        help="make the no-op keys up to date by bulk records (default) or a run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--observer", action="store_true",
                        help="give the source an observer (md5 of each row in SQL) and the "
                             "same versions from its loader")
    parser.add_argument("--no-cache", action="store_true",
                        help="declare clean and report with cache=False (no per-partition "
                             "result files)")
    parser.add_argument("--profile", choices=("warm", "noop"),
                        help="after the figures, cProfile one more call (top 25 by cumtime "
                             "on stderr)")
    args = parser.parse_args()
    if args.keys < 1 or args.repeat < 1 or args.noop_keys < 0:
        parser.error("--keys and --repeat must be ≥ 1, --noop-keys ≥ 0")
    # Anything the libraries print goes to stderr: stdout carries the JSON alone.
    with contextlib.redirect_stdout(sys.stderr):
        result = run(args)
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
