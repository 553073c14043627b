"""candidate_pipeline: one candidate partition, end to end."""

from __future__ import annotations

from typing import Any

from prefect import flow

from blocks.settings import embedder_settings, llm_settings
from flows.matching import matching
from flows.run import prepare_side
from flows.tagging import tag_current_run
from talentflow.db.locks import partition_lock
from talentflow.talent.entities import CANDIDATE
from tasks.cost_hook import publish_cost_artifact


@flow(name="candidate-pipeline", flow_run_name="candidate-{candidate_id}")
def candidate_pipeline(candidate_id: str) -> dict[str, Any]:
    """Normalize, embed and match one candidate. Unchanged steps are Prefect cache hits."""
    # One run per key at a time (queued behind a run in flight): never two writers.
    with partition_lock(candidate_pipeline.name, candidate_id):
        tag_current_run([f"partition:{CANDIDATE.table}/{candidate_id}", "asset-set:candidates"])
        side, ready = prepare_side(
            CANDIDATE, [candidate_id], plan_first=False,
            llm=llm_settings(), embedder=embedder_settings(),
        )
        matched = matching(candidate_ids=ready, plan_first=False)["candidate"]
        publish_cost_artifact()
        return {"normalize": side.normalize.__dict__, "embed": side.embed.__dict__,
                "matching": matched, "failed": side.failed or matched.get("failed", {})}
