"""A run killed with SIGKILL mid-batch leaves nothing stuck: its keys show `running` while the
lease lives, then `failed: run … died (lease expired)`, and the next run computes them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from talentflow.engine import materialize
from talentflow.partitions import ReasonKind, status
from tests.engine.slow_defs import defs

ROOT = Path(__file__).resolve().parents[2]


def _states(db: str) -> dict[str, tuple[str, frozenset]]:
    with psycopg.connect(db) as conn:
        return {s.key: (s.status, s.kinds) for s in status(conn, defs.get("slow"))}


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_sigkill_mid_batch_then_the_next_run_finishes_the_work(db: str, tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": db, "TALENTFLOW_CLAIM_LEASE_S": "2",
           "TALENTFLOW_TEST_SLOW_S": "600", "PREFECT_HOME": str(tmp_path / "prefect"),
           "PYTHONPATH": str(ROOT)}
    env.pop("PREFECT_API_URL", None)
    script = ("from talentflow import config; config.apply_runtime_defaults(); "
              "from talentflow.engine import materialize; "
              "from tests.engine.slow_defs import defs; materialize(defs)")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        def claimed() -> bool:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            with psycopg.connect(db) as conn:
                return conn.execute("SELECT count(*) FROM partition_claims").fetchone()[0] > 0
        _wait(claimed, 180, "the run to claim its keys")
        assert {s for s, _ in _states(db).values()} == {"running"}
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    _wait(lambda: all(s == "failed" for s, _ in _states(db).values()), 15,
          "the leases to expire")
    assert all(kinds == {ReasonKind.LEASE_EXPIRED} for _, kinds in _states(db).values())

    report = materialize(defs)
    assert sorted(report.assets["slow"].ran) == [f"s-{i}" for i in range(6)]
    assert {s for s, _ in _states(db).values()} == {"materialized"}
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM partition_claims").fetchone()[0] == 0
