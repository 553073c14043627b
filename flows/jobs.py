"""job_pipeline: one job partition, end to end."""

from __future__ import annotations

from typing import Any

from prefect import flow

from blocks.settings import embedder_settings, llm_settings
from flows.matching import matching
from flows.run import prepare_side
from flows.tagging import tag_current_run
from talentflow.db.locks import partition_lock
from talentflow.talent.entities import JOB
from tasks.cost_hook import publish_cost_artifact


@flow(name="job-pipeline", flow_run_name="job-{job_id}")
def job_pipeline(job_id: str) -> dict[str, Any]:
    """Normalize, embed and match one job posting. Unchanged steps are Prefect cache hits."""
    # One run per key at a time (queued behind a run in flight): never two writers.
    with partition_lock(job_pipeline.name, job_id):
        tag_current_run([f"partition:{JOB.table}/{job_id}", "asset-set:jobs"])
        side, ready = prepare_side(
            JOB, [job_id], plan_first=False,
            llm=llm_settings(), embedder=embedder_settings(),
        )
        matched = matching(job_ids=ready, plan_first=False)["job"]
        publish_cost_artifact()
        return {"normalize": side.normalize.__dict__, "embed": side.embed.__dict__,
                "matching": matched, "failed": side.failed or matched.get("failed", {})}
