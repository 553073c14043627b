"""The talent pipeline end to end on the engine and the real parts: embedded PostgreSQL +
pgvector, the ephemeral Prefect API, the bundled MiniLM model and the offline rules
normalizer."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest

from talentflow.partitions.errors import InvalidPartitionKey
from tests.support.talent_rows import CVS, JOBS, load_rows

STEPS = ("normalized_candidates", "candidate_vectors", "candidate_matches",
         "normalized_jobs", "job_vectors", "job_matches")


def _best(conn: psycopg.Connection, table: str, col: str, key: str) -> str:
    others = "job_ids" if table == "candidate_matches" else "candidate_ids"
    return conn.execute(f"SELECT {others}[1] FROM {table} WHERE {col} = %s", [key]).fetchone()[0]


def test_batch_run_materializes_everything_then_does_nothing(db: str) -> None:
    from flows.batch import talent_batch

    load_rows(db)
    first = talent_batch()
    assert first["ok"], first
    assert sorted(first["assets"]["normalized_candidates"]["ran"]) == sorted(CVS)
    for step in STEPS:
        expected = CVS if "candidate" in step else JOBS
        assert sorted(first["assets"][step]["ran"]) == sorted(expected), step
    with psycopg.connect(db) as conn:
        vecs = conn.execute("SELECT embedding::text FROM candidate_vectors").fetchall()
        assert len(vecs) == len(CVS)
        for (text,) in vecs:
            v = np.array([float(x) for x in text.strip("[]").split(",")])
            assert v.shape == (384,)
            assert abs(np.linalg.norm(v) - 1.0) < 1e-4
        # the planted pair: near-identical CV and posting rank first for each other
        assert _best(conn, "candidate_matches", "candidate_id", "c-1") == "j-1"
        assert _best(conn, "job_matches", "job_id", "j-1") == "c-1"
        assert _best(conn, "candidate_matches", "candidate_id", "c-3") == "j-2"

    second = talent_batch()
    assert not any(r["ran"] or r["cached"] for r in second["assets"].values()), second
    _assert_run_artifacts(first["flow_run_id"])


def _assert_run_artifacts(flow_run_id: str) -> None:
    """The run left its tables on its page: what ran, partition counts, LLM costs."""
    import json
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(flow_run_id)])))
    by_key = {a.key: a for a in artifacts}
    assert {"partition-status", "materialize-run", "llm-costs"} <= set(by_key)
    table = by_key["partition-status"].data
    rows = json.loads(table) if isinstance(table, str) else table
    assert {r["asset"]: r["materialized"] for r in rows}["candidate_matches"] == len(CVS)
    assert all(r["stale"] == 0 and r["missing"] == 0 for r in rows)
    ran = by_key["materialize-run"].data
    ran = json.loads(ran) if isinstance(ran, str) else ran
    assert {r["asset"]: r["ran"] for r in ran}["normalized_jobs"] == len(JOBS)


def test_single_key_flow_after_a_batch_run_computes_nothing(db: str) -> None:
    from flows.batch import talent_batch
    from flows.candidates import candidate_pipeline

    load_rows(db)
    talent_batch()
    with psycopg.connect(db) as conn:
        calls = conn.execute("SELECT count(*) FROM llm_calls").fetchone()[0]
        version = conn.execute("SELECT data_version FROM candidate_vectors "
                               "WHERE candidate_id = 'c-2'").fetchone()[0]
    again = candidate_pipeline("c-2")
    assert not any(r["ran"] or r["cached"] for r in again["assets"].values()), again
    _assert_run_named_and_tagged("candidate-c-2", "partition:candidates/c-2")
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM llm_calls").fetchone()[0] == calls
        assert conn.execute("SELECT data_version FROM candidate_vectors "
                            "WHERE candidate_id = 'c-2'").fetchone()[0] == version

    # An edited row is a new upstream data version: the steps run again for real, and
    # every job's list takes the new vector in (one product against c-2 alone).
    with psycopg.connect(db) as conn:
        conn.execute("UPDATE candidates SET cv_text = cv_text || ' Also Kotlin.' "
                     "WHERE id = 'c-2'")
    edited = candidate_pipeline("c-2")
    assert edited["assets"]["normalized_candidates"]["ran"] == ["c-2"]
    assert edited["assets"]["candidate_matches"]["ran"] == ["c-2"]
    assert sorted(edited["assets"]["job_matches"]["ran"]) == sorted(JOBS)
    with psycopg.connect(db) as conn:
        modes = {r[0] for r in conn.execute(
            "SELECT m.metadata->>'mode' FROM materializations m JOIN partition_latest l "
            "ON l.materialization_id = m.id WHERE l.asset = 'job_matches'").fetchall()}
        assert modes == {"incremental (1 changed)"}


def test_a_reverted_edit_is_served_from_the_per_partition_cache(db: str) -> None:
    from flows.candidates import candidate_pipeline

    load_rows(db)
    candidate_pipeline("c-2")
    with psycopg.connect(db) as conn:
        original = conn.execute("SELECT cv_text FROM candidates WHERE id = 'c-2'").fetchone()[0]
        conn.execute("UPDATE candidates SET cv_text = cv_text || ' Also Kotlin.' "
                     "WHERE id = 'c-2'")
    candidate_pipeline("c-2")
    with psycopg.connect(db) as conn:
        conn.execute("UPDATE candidates SET cv_text = %s WHERE id = 'c-2'", [original])
        calls = conn.execute("SELECT count(*) FROM llm_calls").fetchone()[0]
    back = candidate_pipeline("c-2")
    # The inputs equal the first run's: normalize and embed are cache hits, no LLM call.
    assert back["assets"]["normalized_candidates"]["cached"] == ["c-2"]
    assert back["assets"]["candidate_vectors"]["cached"] == ["c-2"]
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM llm_calls").fetchone()[0] == calls


def test_a_key_without_a_row_fails_at_once_with_a_clear_message(db: str) -> None:
    from flows.candidates import candidate_pipeline

    load_rows(db)
    with pytest.raises(InvalidPartitionKey, match=r"'c-404'.*'candidates'.*not registered"):
        candidate_pipeline("c-404")


def test_a_registered_key_without_a_row_fails_alone(db: str) -> None:
    from flows.batch import talent_batch
    from talentflow.db import connect
    from talentflow.partitions import registry

    load_rows(db)
    with connect() as conn:
        registry.add_keys(conn, "candidates", ["c-ghost"])
    report = talent_batch(candidate_ids=["c-1", "c-ghost", "c-2", "c-3"])
    norm = report["assets"]["normalized_candidates"]
    assert sorted(norm["ran"]) == ["c-1", "c-2", "c-3"]
    assert list(norm["failed"]) == ["c-ghost"]
    assert "upstream candidates['c-ghost'] has no value" in norm["failed"]["c-ghost"]


def _assert_run_named_and_tagged(name: str, tag: str) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[name])))
    assert runs, f"no flow run named {name!r}"
    assert all(tag in run.tags for run in runs), [run.tags for run in runs]
