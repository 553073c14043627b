"""job_pipeline: one job partition, end to end (the event-driven path)."""

from __future__ import annotations

from typing import Any

from prefect import flow

from talentflow.engine import load_definitions, run_in_flow
from talentflow.talent.entities import CANDIDATE, JOB


@flow(name="job-pipeline", flow_run_name="job-{job_id}")
def job_pipeline(job_id: str) -> dict[str, Any]:
    """Normalize, embed and match one job posting, then bring every candidate's list up to
    date with it. Up-to-date steps do not run; a key another run holds is left to it."""
    assets = [JOB.source_asset, JOB.normalized_asset, JOB.vectors_asset, JOB.matches_asset,
              CANDIDATE.matches_asset]
    return run_in_flow(load_definitions(), assets, partition_key=job_id,
                       partition_set=JOB.table).to_dict()
