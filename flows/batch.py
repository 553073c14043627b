"""talent_batch: many partitions in one flow run (the demo, backfills, sensor bursts).

Prefect costs ~1 s per flow run and ~15 ms per task run here, so many keys never mean one
flow run per key: this flow plans from the bulk status query, then runs the same steps as
the single-key flows over batches of keys (embedding in model batches, one SQL round trip per
batch), and matches each side with one matrix product against the other.
"""

from __future__ import annotations

import time
from typing import Any

from prefect import flow

from blocks.settings import embedder_settings, llm_settings
from flows.artifacts import publish_status_artifact
from flows.matching import matching
from flows.pipeline import DEFAULT_BATCH_SIZE, flow_run_id
from flows.run import prepare_side
from talentflow.talent.entities import CANDIDATE, JOB
from tasks.cost_hook import publish_cost_artifact


@flow(name="talent-batch", flow_run_name="talent-batch")
def talent_batch(
    candidate_ids: list[str] | None = None,
    job_ids: list[str] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> dict[str, Any]:
    """Bring the given keys (default: every row) of both sides up to date.

    Each key succeeds or fails alone; failures are recorded per partition and reported.
    """
    started = time.perf_counter()
    llm, embedder = llm_settings(), embedder_settings()
    sides = {}
    ready = {}
    for ent, keys in ((CANDIDATE, candidate_ids), (JOB, job_ids)):
        sides[ent.kind], ready[ent.kind] = prepare_side(
            ent, keys, plan_first=True, llm=llm, embedder=embedder, batch_size=batch_size
        )
    matched = matching(candidate_ids=ready["candidate"], job_ids=ready["job"], plan_first=True)
    publish_cost_artifact()
    publish_status_artifact()
    return {
        "flow_run_id": flow_run_id(),
        "sides": {k: {"normalize": v.normalize.__dict__, "embed": v.embed.__dict__}
                  for k, v in sides.items()},
        "matching": matched,
        "failed": {k: {**v.failed, **matched[k].get("failed", {})} for k, v in sides.items()},
        "seconds": round(time.perf_counter() - started, 2),
    }
