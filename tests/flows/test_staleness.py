"""Issue 3's promise on the talent pipeline: editing one row makes exactly that partition and
its downstream stale, a re-run fixes exactly that, and a run with nothing changed makes no
LLM call and no embedding."""

from __future__ import annotations

import psycopg
from typer.testing import CliRunner

from tests.support.talent_rows import CVS, JOBS, load_rows

CANDIDATE_SIDE = ("normalized_candidates", "candidate_vectors", "candidate_matches")
JOB_SIDE = ("normalized_jobs", "job_vectors")


def _stale(conn, *, propagate: bool) -> dict[str, set[str]]:
    from talentflow.partitions import catalog
    from talentflow.partitions.status import status_all

    by_asset = status_all(conn, catalog.all_assets(), propagate=propagate)
    return {name: {s.key for s in rows if s.status != "materialized"}
            for name, rows in by_asset.items()
            if not catalog.get_asset(name).source}


def test_edit_one_row_then_rerun(db: str, monkeypatch) -> None:
    from flows.batch import talent_batch
    from talentflow.partitions import catalog
    from talentflow.partitions.observation import observe_sources

    monkeypatch.setenv("TALENTFLOW_DEFINITIONS", "flows.definitions")
    catalog.load_definitions("flows.definitions")
    load_rows(db)
    talent_batch()
    with psycopg.connect(db) as conn:
        assert all(not keys for keys in _stale(conn, propagate=True).values())
        conn.execute("UPDATE candidates SET cv_text = cv_text || ' Skills: Kotlin, Swift.' "
                     "WHERE id = 'c-2'")
        conn.commit()
        changed = observe_sources(conn, catalog.all_assets())
        conn.commit()
        assert changed == {"candidates": ["c-2"], "jobs": []}
        one_hop = _stale(conn, propagate=False)
        assert one_hop["normalized_candidates"] == {"c-2"}
        assert all(not one_hop[a] for a in one_hop if a != "normalized_candidates")
        downstream = _stale(conn, propagate=True)
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
    cand = rerun["sides"]["candidate"]
    assert cand["normalize"]["ran"] == ["c-2"] and cand["embed"]["ran"] == ["c-2"]
    assert rerun["sides"]["job"]["normalize"]["ran"] == []
    assert rerun["matching"]["candidate"]["ran"] == ["c-2"]
    with psycopg.connect(db) as conn:
        assert all(not keys for keys in _stale(conn, propagate=True).values())
        calls_before = conn.execute("SELECT count(*) FROM llm_calls").fetchone()[0]
        assert calls_before == len(CVS) + len(JOBS) + 1  # rules rows, $0: one per real call

    quiet = talent_batch()
    for side in quiet["sides"].values():
        assert not side["normalize"]["ran"] and not side["embed"]["ran"]
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM llm_calls").fetchone()[0] == calls_before
