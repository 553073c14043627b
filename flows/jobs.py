"""job_pipeline: one job partition, end to end."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.run import match_side, prepare_side
from flows.tagging import tag_current_run
from talentflow.embeddings import EmbedderSettings
from talentflow.llm.settings import LLMSettings
from talentflow.talent.entities import JOB


@flow(name="job-pipeline", flow_run_name="job-{job_id}")
def job_pipeline(job_id: str) -> dict[str, Any]:
    """Normalize, embed and match one job posting. Unchanged steps are Prefect cache hits."""
    tag_current_run([f"partition:{JOB.table}/{job_id}", "asset-set:jobs"])
    side, ready = prepare_side(
        JOB, [job_id], plan_first=False,
        llm=LLMSettings.from_env(), embedder=EmbedderSettings.from_env(),
    )
    matched = match_side(JOB, ready, plan_first=False)
    return {"normalize": side.normalize.__dict__, "embed": side.embed.__dict__,
            "matching": matched, "failed": side.failed or matched.get("failed", {})}
