"""Editing one row makes exactly that partition and its downstream stale, a re-run fixes
exactly that, and a run with nothing changed makes no LLM call and no embedding."""

from __future__ import annotations

import psycopg
from typer.testing import CliRunner

from tests.support.talent_rows import CVS, JOBS, load_rows

CANDIDATE_SIDE = ("normalized_candidates", "candidate_vectors", "candidate_matches")
JOB_SIDE = ("normalized_jobs", "job_vectors")


def _not_fresh(conn, defs, *, propagate: bool) -> dict[str, set[str]]:
    from talentflow.partitions.status import status_all

    computed = [a for a in defs.assets if not a.source]
    by_asset = status_all(conn, computed, propagate=propagate)
    return {name: {s.key for s in rows if s.status != "materialized"}
            for name, rows in by_asset.items()}


def test_edit_one_row_then_rerun(db: str) -> None:
    from flows.batch import talent_batch
    from talentflow.engine.run import observe_all
    from talentflow.partitions import ReasonKind
    from talentflow.partitions.status import status
    from tasks.definitions import defs

    defs = defs.bind()
    load_rows(db)
    talent_batch()
    with psycopg.connect(db) as conn:
        fresh = _not_fresh(conn, defs, propagate=True)
        assert all(not keys for keys in fresh.values()), fresh
        conn.execute("UPDATE candidates SET cv_text = cv_text || ' Skills: Kotlin, Swift.' "
                     "WHERE id = 'c-2'")
        conn.commit()
        changed = observe_all(conn, [a for a in defs.assets if a.source], defs.resource_values)
        conn.commit()
        assert changed == {"candidates": 1}
        one_hop = _not_fresh(conn, defs, propagate=False)
        # The row is read by normalize and (its raw text, in chunks) by embed.
        readers = {"normalized_candidates", "candidate_vectors"}
        for asset in readers:
            assert one_hop[asset] == {"c-2"}, asset
            [row] = status(conn, defs.get(asset), ["c-2"])
            assert row.kinds == {ReasonKind.INPUT_CHANGED}
        assert all(not one_hop[a] for a in one_hop if a not in readers), one_hop
        downstream = _not_fresh(conn, defs, propagate=True)
        for asset in CANDIDATE_SIDE:
            assert downstream[asset] == {"c-2"}, asset
        for asset in JOB_SIDE:
            assert downstream[asset] == set(), asset
        # every job's top-K may change once c-2 is re-embedded: all of them depend on it
        assert downstream["job_matches"] == set(JOBS)

    # The CLI says the same, with reasons.
    from talentflow.cli.app import app

    out = CliRunner().invoke(app, ["status", "--limit", "50"]).output
    assert "'c-2': upstream candidates['c-2'] changed" in out

    rerun = talent_batch()
    assets = rerun["assets"]
    assert assets["normalized_candidates"]["ran"] == ["c-2"]
    assert assets["candidate_vectors"]["ran"] == ["c-2"]
    assert assets["candidate_matches"]["ran"] == ["c-2"]
    assert assets["normalized_jobs"]["ran"] == [] and assets["job_vectors"]["ran"] == []
    # Every job's list took c-2's new vector in, and nothing is left stale on either side.
    assert sorted(assets["job_matches"]["ran"]) == sorted(JOBS)
    with psycopg.connect(db) as conn:
        assert all(not keys for keys in _not_fresh(conn, defs, propagate=True).values())
        calls_before = conn.execute("SELECT count(*) FROM llm_calls").fetchone()[0]
        assert calls_before == len(CVS) + len(JOBS) + 1  # rules rows, $0: one per real call

    quiet = talent_batch()
    assert not any(r["ran"] or r["cached"] for r in quiet["assets"].values())
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM llm_calls").fetchone()[0] == calls_before
