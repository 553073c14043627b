"""Run hooks of the generation definitions: after every materialize run, its LLM cost summary
as the markdown artifact `llm-costs` on the flow run's page (the same key as the talent
pipeline's, so the Prefect UI shows one artifact per run). A module of its own: the cost
report code it calls is not any generation's code (costs.py is, through the call log)."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

ARTIFACT_KEY = "llm-costs"
_log = logging.getLogger(__name__)


def publish_cost_artifact(report: Any) -> UUID | None:
    """Run hook: the run's LLM cost summary as the markdown artifact `llm-costs` on its flow
    run page. Best effort: a missing report must not fail a finished run."""
    run_id = getattr(report, "flow_run_id", None)
    if run_id is None:
        return None
    try:
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.actions import ArtifactCreate

        from talentflow.costs import reports
        from talentflow.db import connect

        with connect() as conn:
            markdown = reports.run_summary_markdown(conn, run_id)
        with get_client(sync_client=True) as client:
            artifact = client.create_artifact(ArtifactCreate(
                key=ARTIFACT_KEY, type="markdown", data=markdown, flow_run_id=UUID(run_id),
                description="LLM tokens and USD of this flow run (talentflow cost ledger)"))
        return artifact.id
    except Exception as exc:  # noqa: BLE001
        _log.warning("could not publish the LLM cost artifact: %s: %s", type(exc).__name__, exc)
        return None
