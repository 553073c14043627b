"""Batches on Dask (prefect-dask's DaskTaskRunner, a real 2-process local cluster): the same
data versions as a run in this process, and a worker killed mid-batch loses no key — the
batch runs again elsewhere, and batches already recorded are not computed again."""

from __future__ import annotations

import os
import time
from pathlib import Path

import psycopg

from talentflow.engine import Definitions, DynamicPartitions, asset, materialize
from talentflow.partitions import registry

KEYS = [f"k-{i:02d}" for i in range(24)]


def _calls(db: str) -> dict[str, int]:
    with psycopg.connect(db) as conn:
        return dict(conn.execute("SELECT key, count(*) FROM dask_calls GROUP BY key"
                                 ).fetchall())


def _versions(db: str, asset_name: str) -> dict[str, str]:
    with psycopg.connect(db) as conn:
        return dict(conn.execute("SELECT partition_key, data_version FROM partition_latest "
                                 "WHERE asset = %s AND status = 'materialized'",
                                 (asset_name,)).fetchall())


def _wait_for_records(conn: psycopg.Connection, asset_name: str, n: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        (done,) = conn.execute("SELECT count(*) FROM partition_latest WHERE asset = %s",
                               (asset_name,)).fetchone()
        if done >= n:
            return
        time.sleep(0.1)


def build(db: str, name: str, kill_marker: Path | None = None) -> Definitions:
    items = DynamicPartitions("dask_items")

    @asset(name=name, partitions=items, batch_size=4, cache=False)
    def square(ctx) -> dict[str, dict]:
        out = {}
        with psycopg.connect(db, autocommit=True) as conn:
            for key in ctx.keys:
                if kill_marker is not None and key == "k-13" and not kill_marker.exists():
                    _wait_for_records(conn, name, 8)  # die with work already recorded
                    kill_marker.write_text(f"{os.getpid()} {time.time()}")
                    os._exit(1)  # the worker process dies mid-batch
                conn.execute("INSERT INTO dask_calls VALUES (%s, %s)", (key, os.getpid()))
                n = int(key.split("-")[1])
                out[key] = {"n": n, "square": n * n}
        return out

    return Definitions(assets=[square])


def test_dask_batches_equal_a_local_run_and_survive_a_killed_worker(db: str, tmp_path: Path
                                                                    ) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("CREATE TABLE dask_calls (key text, pid int)")
        registry.add_keys(conn, "dask_items", KEYS)

    local = materialize(build(db, "square_local"), ["square_local"])
    assert local.ok and sorted(local.assets["square_local"].ran) == KEYS
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("TRUNCATE dask_calls")

    marker = tmp_path / "killed"
    on_dask = materialize(build(db, "square_dask", marker), ["square_dask"], workers=2)

    pid, killed_at = marker.read_text().split()
    assert int(pid) != os.getpid()  # a worker process died mid-batch
    assert on_dask.ok, on_dask.failed
    assert sorted(on_dask.assets["square_dask"].ran) == KEYS
    assert _versions(db, "square_dask") == _versions(db, "square_local")
    with psycopg.connect(db) as conn:
        recorded = {k: (n, when) for k, n, when in conn.execute(
            "SELECT partition_key, count(*), extract(epoch FROM max(finished_at)) "
            "FROM materializations WHERE asset = 'square_dask' GROUP BY 1").fetchall()}
        pids = {p for (p,) in conn.execute("SELECT DISTINCT pid FROM dask_calls")}
    assert {k: n for k, (n, _) in recorded.items()} == dict.fromkeys(KEYS, 1)  # no duplicate
    calls = _calls(db)
    assert set(calls) == set(KEYS) and max(calls.values()) <= 2
    # What was recorded before the worker died is never computed again; only batches lost
    # with it (running, or finished but not yet fetched from its memory) ran twice.
    before = [k for k, (_, when) in recorded.items() if float(when) < float(killed_at)]
    assert len(before) >= 8 and all(calls[k] == 1 for k in before)
    assert calls["k-13"] == 1  # the first attempt died before computing it
    assert os.getpid() not in pids and len(pids) >= 2  # computed in worker processes
