"""The talent pipeline end to end on the real parts: embedded PostgreSQL + pgvector, the
ephemeral Prefect API, the bundled MiniLM model and the offline rules normalizer."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest

from talentflow.partitions.errors import InvalidPartitionKey
from tests.support.talent_rows import CVS, JOBS, load_rows


def _steps_did_nothing(result: dict) -> bool:
    sides = result["sides"].values()
    return (all(not s[step]["ran"] and not s[step]["cached"] for s in sides
                for step in ("normalize", "embed"))
            and all(not m.get("ran") for m in result["matching"].values()))


def test_batch_run_materializes_everything_then_does_nothing(db: str) -> None:
    from flows.batch import talent_batch

    load_rows(db)
    first = talent_batch()
    assert first["failed"] == {"candidate": {}, "job": {}}
    assert sorted(first["sides"]["candidate"]["normalize"]["ran"]) == sorted(CVS)
    with psycopg.connect(db) as conn:
        vecs = conn.execute("SELECT embedding::text FROM candidate_vectors").fetchall()
        assert len(vecs) == len(CVS)
        for (text,) in vecs:
            v = np.array([float(x) for x in text.strip("[]").split(",")])
            assert v.shape == (384,)
            assert abs(np.linalg.norm(v) - 1.0) < 1e-4
        # the planted pair: near-identical CV and posting rank first for each other
        best_job = conn.execute("SELECT job_id FROM matches WHERE candidate_id = 'c-1' "
                                "ORDER BY score DESC LIMIT 1").fetchone()[0]
        best_candidate = conn.execute("SELECT candidate_id FROM matches WHERE job_id = 'j-1' "
                                      "ORDER BY score DESC LIMIT 1").fetchone()[0]
        assert (best_job, best_candidate) == ("j-1", "c-1")
        ml_job = conn.execute("SELECT job_id FROM matches WHERE candidate_id = 'c-3' "
                              "ORDER BY score DESC LIMIT 1").fetchone()[0]
        assert ml_job == "j-2"

    second = talent_batch()
    assert _steps_did_nothing(second), second
    _assert_status_artifact(second["flow_run_id"])


def _assert_status_artifact(flow_run_id: str) -> None:
    """The run left a partition-status table on its page: every partition materialized."""
    import json
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(flow_run_id)])))
    by_key = {a.key: a for a in artifacts}
    assert {"partition-status", "llm-costs"} <= set(by_key)
    table = by_key["partition-status"].data
    rows = json.loads(table) if isinstance(table, str) else table
    assert {r["asset"]: r["materialized"] for r in rows}["candidate_matches"] == len(CVS)
    assert all(r["stale"] == 0 and r["missing"] == 0 for r in rows)


def test_single_key_flow_is_a_cache_hit_when_nothing_changed(db: str) -> None:
    from flows.candidates import candidate_pipeline
    from flows.jobs import job_pipeline

    load_rows(db)
    for jid in JOBS:
        job_pipeline(jid)
    first = candidate_pipeline("c-2")
    assert first["normalize"]["ran"] == ["c-2"] and first["embed"]["ran"] == ["c-2"]
    _assert_run_named_and_tagged("candidate-c-2", "partition:candidates/c-2")
    again = candidate_pipeline("c-2")
    assert again["normalize"]["cached"] == ["c-2"] and not again["normalize"]["ran"]
    assert again["embed"]["cached"] == ["c-2"] and not again["embed"]["ran"]

    # An edited row is a new upstream data version: the steps run again for real.
    with psycopg.connect(db) as conn:
        conn.execute("UPDATE candidates SET cv_text = cv_text || ' Also Kotlin.' "
                     "WHERE id = 'c-2'")
    edited = candidate_pipeline("c-2")
    assert edited["normalize"]["ran"] == ["c-2"]


def test_a_key_without_a_row_fails_at_once_with_a_clear_message(db: str) -> None:
    from flows.candidates import candidate_pipeline

    load_rows(db)
    with pytest.raises(InvalidPartitionKey, match=r"'c-404'.*'candidates'.*no candidate row"):
        candidate_pipeline("c-404")


def _assert_run_named_and_tagged(name: str, tag: str) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[name])))
    assert runs, f"no flow run named {name!r}"
    assert all(tag in run.tags for run in runs), [run.tags for run in runs]
