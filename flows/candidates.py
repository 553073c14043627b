"""candidate_pipeline: one candidate partition, end to end (the event-driven path)."""

from __future__ import annotations

from typing import Any

from prefect import flow

from talentflow.engine import load_definitions, run_in_flow
from talentflow.talent.entities import CANDIDATE, JOB


@flow(name="candidate-pipeline", flow_run_name="candidate-{candidate_id}")
def candidate_pipeline(candidate_id: str) -> dict[str, Any]:
    """Normalize, embed and match one candidate, then bring every job's list up to date
    with it (incrementally: one product against this candidate). Up-to-date steps do not
    run; a key another run holds is left to it."""
    assets = [CANDIDATE.source_asset, CANDIDATE.normalized_asset, CANDIDATE.vectors_asset,
              CANDIDATE.matches_asset, JOB.matches_asset]
    return run_in_flow(load_definitions(), assets, partition_key=candidate_id,
                       partition_set=CANDIDATE.table).to_dict()
