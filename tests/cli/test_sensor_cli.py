"""`talentflow sensor status|tick` through the real CLI (typer's CliRunner)."""

from __future__ import annotations

import json

import psycopg
from typer.testing import CliRunner

from talentflow.cli.app import app

runner = CliRunner()


def test_status_then_tick_on_a_database_with_nothing_new(db: str) -> None:
    with psycopg.connect(db) as conn:
        conn.execute("INSERT INTO jobs (id, title, description) VALUES ('j-1', 'Dev', 'Go')")
        conn.execute("INSERT INTO sensor_cursors (name, position) "
                     "SELECT 'new-rows-sensor:jobs', max(change_seq) FROM jobs")
    status = runner.invoke(app, ["sensor", "status"])
    assert status.exit_code == 0, status.output
    by_table = {c["table"]: c for c in json.loads(status.output)}
    assert by_table["jobs"]["pending_rows"] == 0 and by_table["candidates"]["pending_rows"] == 0

    tick = runner.invoke(app, ["sensor", "tick"])
    assert tick.exit_code == 0, tick.output
    report = json.loads(tick.output)
    assert report["events"] == 0 and report["batch_runs"] == []
    assert set(report["tables"]) == {"candidates", "jobs"}
