"""`talentflow backfill`: selections by state, range and explicit keys; one batch run."""

from __future__ import annotations

import psycopg
import pytest
from typer.testing import CliRunner

from tests.support.talent_rows import load_rows


@pytest.fixture
def cli(db: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TALENTFLOW_DEFINITIONS", "flows.definitions")
    from talentflow.cli.app import app

    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_backfill_selects_by_state_range_and_keys(db: str, cli) -> None:
    load_rows(db)
    first = cli("backfill", "candidates", "--missing")
    assert first.exit_code == 0, first.output
    assert "backfill 3 candidates key(s) (missing)" in first.output
    assert "normalize ran     3" in first.output

    assert "nothing to backfill" in cli("backfill", "candidates", "--stale").output
    with psycopg.connect(db) as conn:
        conn.execute("UPDATE candidates SET cv_text = cv_text || ' Rust.' WHERE id = 'c-3'")
    stale = cli("backfill", "candidates", "--stale")
    assert "backfill 1 candidates key(s) (stale): c-3" in stale.output
    assert "normalize ran     1" in stale.output

    ranged = cli("backfill", "candidates", "--from", "c-1", "--to", "c-2", "--dry-run")
    assert "backfill 2 candidates key(s): c-1, c-2" in ranged.output

    unknown = cli("backfill", "candidates", "c-404")
    assert unknown.exit_code == 2
    assert "invalid partition key 'c-404' for set 'candidates'" in unknown.output
