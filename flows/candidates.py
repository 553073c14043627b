"""candidate_pipeline: one candidate partition, end to end."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.run import match_side, prepare_side
from flows.tagging import tag_current_run
from talentflow.embeddings import EmbedderSettings
from talentflow.llm.settings import LLMSettings
from talentflow.talent.entities import CANDIDATE


@flow(name="candidate-pipeline", flow_run_name="candidate-{candidate_id}")
def candidate_pipeline(candidate_id: str) -> dict[str, Any]:
    """Normalize, embed and match one candidate. Unchanged steps are Prefect cache hits."""
    tag_current_run([f"partition:{CANDIDATE.table}/{candidate_id}", "asset-set:candidates"])
    side, ready = prepare_side(
        CANDIDATE, [candidate_id], plan_first=False,
        llm=LLMSettings.from_env(), embedder=EmbedderSettings.from_env(),
    )
    matched = match_side(CANDIDATE, ready, plan_first=False)
    return {"normalize": side.normalize.__dict__, "embed": side.embed.__dict__,
            "matching": matched, "failed": side.failed or matched.get("failed", {})}
