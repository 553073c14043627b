"""Batches on Dask against batches in the flow's process; prints one JSON object.

    .venv/bin/python bench/dask_batches.py                       # 2 workers, 64 keys
    .venv/bin/python bench/dask_batches.py --workers 4 --keys 256 --work-ms 100

Temporary embedded PostgreSQL and PREFECT_HOME. One asset over a dynamic set whose compute is
CPU-bound pure Python (`--work-ms` per key, measured on this machine before the runs), in
batches of `--batch-size` keys. The same keys are materialized three ways, each on its own
asset name so none is a cache hit: in the flow's process (`local`), on a local `prefect-dask`
cluster of `--workers` processes started by the run (`dask_cold`, cluster start included), and
on an already running cluster given by address (`dask_warm`, what `--dask-address` does).
`ideal_s` is keys × work / min(workers, cpus): the compute alone, perfectly spread. What is
left above it is the engine's and Dask's own cost per batch (plan, claim, pickle, record).
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _spin(seconds: float) -> int:
    """Pure-Python work that holds the GIL (threads would not help; processes do)."""
    end, n = time.process_time() + seconds, 0
    while time.process_time() < end:
        n += 1
    return n


def _definitions(name: str, batch_size: int, work_s: float):
    from talentflow.engine import Definitions, DynamicPartitions, asset

    @asset(name=name, partitions=DynamicPartitions("dask_bench_keys"), batch_size=batch_size,
           cache=False)
    def spun(ctx) -> dict[str, dict]:
        return {k: {"key": k, "spins": _spin(work_s) > 0} for k in ctx.keys}

    return Definitions(assets=[spun])


def run(args: argparse.Namespace) -> dict[str, Any]:
    from dask.distributed import LocalCluster

    from talentflow.db import connect, migrate
    from talentflow.engine import materialize
    from talentflow.engine.flow import _worker_env
    from talentflow.partitions import registry

    migrate.upgrade(locations=[])
    keys = [f"key-{i:05d}" for i in range(args.keys)]
    with connect(autocommit=True) as conn:
        registry.add_keys(conn, "dask_bench_keys", keys)
    work_s = args.work_ms / 1000
    out: dict[str, Any] = {"keys": args.keys, "work_ms": args.work_ms,
                           "batch_size": args.batch_size, "workers": args.workers}
    workers = min(args.workers, os.cpu_count() or 1)
    out["ideal_s"] = round(args.keys * work_s / workers, 3)

    def timed(name: str, **kw: Any) -> float:
        t0 = time.perf_counter()
        report = materialize(_definitions(name, args.batch_size, work_s), [name], **kw)
        seconds = time.perf_counter() - t0
        assert report.ok and len(report.assets[name].ran) == args.keys, report.failed
        return round(seconds, 3)

    timed("warmup", )  # the ephemeral Prefect API starts inside the first run
    out["local_s"] = timed("local")
    out["dask_cold_s"] = timed("dask_cold", workers=args.workers)
    # An operator's cluster: its workers told where the Prefect API is (here, the temporary
    # one this process started), as PREFECT_API_URL in their environment.
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, env=_worker_env()) as cluster:
        cluster.scheduler_info  # noqa: B018 - started
        out["dask_warm_s"] = timed("dask_warm", dask_address=cluster.scheduler_address)
    out["speedup_warm"] = round(out["local_s"] / out["dask_warm_s"], 2)
    batches = -(-args.keys // args.batch_size)
    out["overhead_per_batch_warm_ms"] = round(
        (out["dask_warm_s"] - out["ideal_s"]) / batches * 1000, 1)
    out["cpus"] = os.cpu_count()
    out["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=64)
    parser.add_argument("--work-ms", type=float, default=50.0,
                        help="CPU time each key's compute takes")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    temp = tempfile.mkdtemp(prefix="tf-dask-bench-")
    os.environ.setdefault("PREFECT_HOME", str(Path(temp) / "prefect"))
    if not os.environ.get("DATABASE_URL"):
        os.environ["TALENTFLOW_HOME"] = temp
    # Registered before the server starts: atexit runs last-in first-out.
    atexit.register(shutil.rmtree, temp, True)
    print(json.dumps(run(args), indent=2))


if __name__ == "__main__":
    main()
