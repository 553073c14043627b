"""`talentflow --definitions examples.daily_sales ...` as a user runs it, in a subprocess from
the repository root: status shows every asset, a bad day's failed check and its reason;
materialize --partition runs the days given and exits 1 when a blocking check fails."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

from examples.daily_sales import generator
from tests.examples.daily_sales.conftest import put

ROOT = Path(__file__).resolve().parents[3]


def _talentflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from talentflow.cli import main; main()",
         "--definitions", "examples.daily_sales", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def _counts(output: str, asset: str) -> dict[str, int]:
    block = output.split(f"{asset}  (", 1)[1].split("\n\n", 1)[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"(\w+) (\d+)", block)}


def test_status_and_materialize_one_day_from_the_command_line(db: str) -> None:
    from prefect.server.api.server import SubprocessASGIServer

    put(db, generator.generate(dt.date(2024, 1, 1), 3, rows_per_day=50, seed=2,
                               negative_days=[dt.date(2024, 1, 3)]))
    # The session's Prefect API (what its own client starts): no second server to wait for.
    server = SubprocessASGIServer()
    server.start()
    env = {**os.environ, "DATABASE_URL": db, "PREFECT_API_URL": server.api_url}

    run = _talentflow(env, "materialize", "sales_data+", "--partition", "2024-01-02",
                      "--partition", "2024-01-03")
    assert run.returncode == 1, run.stderr  # a blocking check failed
    assert re.search(r"^  sales_data: ran 2,", run.stdout, re.M)
    assert re.search(r"^  sales_summary: ran 1,.* blocked 1", run.stdout, re.M)
    assert "failed sales_data['2024-01-03']: check failed: no_negative_amounts" in run.stdout

    status = _talentflow(env, "status")
    assert status.returncode == 0, status.stderr
    for asset in ("sales", "sales_data", "sales_summary", "weekly_sales"):
        assert f"{asset}  (" in status.stdout
    assert _counts(status.stdout, "sales")["materialized"] == 3  # the days with rows
    lines = _counts(status.stdout, "sales_data")
    assert (lines["materialized"], lines["failed"], lines["stale"]) == (1, 1, 0)
    assert "failed  '2024-01-03': check failed: no_negative_amounts" in status.stdout
    assert _counts(status.stdout, "sales_summary")["materialized"] == 1
