"""`talentflow backfill`: selections by state, range and explicit keys; one materialize run;
the exit code tells the truth."""

from __future__ import annotations

import json
import re

import psycopg
import pytest
from typer.testing import CliRunner

from tests.support.talent_rows import CVS, load_rows


@pytest.fixture
def cli(db: str):
    from talentflow.cli.app import app

    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def _report(result) -> dict:
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_backfill_selects_by_state_range_and_keys(db: str, cli) -> None:
    load_rows(db)
    first = _report(cli("backfill", "candidates", "--missing", "--json"))
    assert first["ok"]
    assert sorted(first["assets"]["normalized_candidates"]["ran"]) == sorted(CVS)
    assert sorted(first["assets"]["candidate_matches"]["ran"]) == sorted(CVS)

    assert "nothing to backfill" in cli("backfill", "candidates", "--stale", "--dry-run").output
    with psycopg.connect(db) as conn:
        conn.execute("UPDATE candidates SET cv_text = cv_text || ' Rust.' WHERE id = 'c-3'")
    plan = cli("backfill", "candidates", "--stale", "--dry-run").output
    assert "would run normalized_candidates: 1 key(s)" in plan
    stale = _report(cli("backfill", "candidates", "--stale", "--json"))
    assert stale["assets"]["normalized_candidates"]["ran"] == ["c-3"]
    assert stale["assets"]["candidate_vectors"]["ran"] == ["c-3"]

    ranged = cli("backfill", "candidates", "--from", "c-1", "--to", "c-2", "--dry-run")
    assert "selection: 2 key(s): c-1, c-2" in ranged.output

    unknown = cli("backfill", "candidates", "c-404")
    assert unknown.exit_code == 2
    assert "invalid partition key 'c-404' for set 'candidates'" in unknown.output
    assert cli("backfill", "nowhere").exit_code == 2


def test_a_failed_key_makes_the_exit_code_1_and_is_listed(db: str, cli) -> None:
    from talentflow.db import connect
    from talentflow.partitions import registry

    load_rows(db)
    with connect() as conn:
        registry.add_keys(conn, "candidates", ["c-ghost"])
    result = cli("backfill", "candidates")
    assert result.exit_code == 1, result.output
    assert "failed normalized_candidates['c-ghost']: upstream candidates['c-ghost'] has no " \
           "value" in result.output
    counts = {m.group(1): int(m.group(2))
              for m in re.finditer(r"^\s*(\w+):\s+ran\s+(\d+)", result.output, re.M)}
    assert counts["normalized_candidates"] == len(CVS)
