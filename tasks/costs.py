"""LLM cost tracking inside the normalize asset, and the run's cost artifact.

The normalize function writes one `llm_calls` row per call it made, answered or failed but
billed, with the tokens the API reported. A partition served from the cache made no call
and records nothing, by construction: the function did not run. Rows are written as soon as
the batch's calls are done (before the engine records the partitions), so a billed call is
in the ledger even if the run dies right after.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

from talentflow.costs import ledger, reports
from talentflow.costs import prices as price_table
from talentflow.costs.budget import BudgetGuard, BudgetSettings
from talentflow.costs.estimate import EstimateSettings
from talentflow.costs.ledger import LLMCall
from talentflow.db import connect
from talentflow.llm.base import Usage
from talentflow.llm.settings import LLMSettings

ARTIFACT_KEY = "llm-costs"  # artifact keys: lowercase letters, digits and dashes only

_log = logging.getLogger(__name__)


def current_task_run_id() -> str | None:
    from prefect.context import TaskRunContext

    ctx = TaskRunContext.get()
    return str(ctx.task_run.id) if ctx is not None else None


def budget_guard(asset: str, llm: LLMSettings, flow_run_id: str | None) -> BudgetGuard:
    """The budget check for this batch: `check()` before each call, `spend()` after.
    Inactive (no query, no token counting) unless TALENTFLOW_BUDGET_RUN_USD or
    TALENTFLOW_BUDGET_DAY_USD is set, and always for the free rules provider."""
    budget = BudgetSettings.from_env()
    active = budget.enabled and llm.provider != "rules"
    return BudgetGuard(
        budget, provider=llm.provider, model=llm.model, asset=asset, flow_run_id=flow_run_id,
        connect=connect,
        prices=price_table.load() if active else price_table.PriceTable([]),
        settings=EstimateSettings.from_env() if active else None,
        max_chars=llm.max_input_chars,
    )


class CallLog:
    """The ledger rows of one batch, priced as they are made, written once."""

    def __init__(self, asset: str, flow_run_id: str | None) -> None:
        self.asset, self.flow_run_id = asset, flow_run_id
        self.task_run_id = current_task_run_id()
        self.prices = price_table.load()
        self.calls: list[LLMCall] = []

    def add(self, key: str, *, provider: str, model: str, usage: Usage, called_at: datetime,
            latency_s: float | None, attempts: int | None, error: str | None = None) -> None:
        self.calls.append(ledger.priced_call(
            self.prices, provider=provider, model=model, prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens, cached_tokens=usage.cached_tokens,
            called_at=called_at, asset=self.asset, partition_key=key,
            flow_run_id=self.flow_run_id, task_run_id=self.task_run_id, latency_s=latency_s,
            attempts=attempts, status="failed" if error else "ok", error=error,
        ))

    def write(self, conn: psycopg.Connection) -> int:
        """Record and commit the rows (a billed call is never lost with a later failure)."""
        if not self.calls:
            return 0
        n = ledger.record_calls(conn, self.calls)
        conn.commit()
        self.calls = []
        return n


def publish_cost_artifact(report: Any) -> UUID | None:
    """Run hook: the run's LLM cost summary as the markdown artifact `llm-costs` on its
    flow run page. Best effort: returns the artifact id, or None with a warning."""
    run_id = getattr(report, "flow_run_id", None)
    if run_id is None:
        return None
    try:
        with connect() as conn:
            markdown = reports.run_summary_markdown(conn, run_id)
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.actions import ArtifactCreate

        with get_client(sync_client=True) as client:
            artifact = client.create_artifact(ArtifactCreate(
                key=ARTIFACT_KEY, type="markdown", data=markdown, flow_run_id=UUID(run_id),
                description="LLM tokens and USD of this flow run (talentflow cost ledger)",
            ))
        return artifact.id
    except Exception as exc:  # noqa: BLE001 - a missing report must not fail a finished run
        _log.warning("could not publish the LLM cost artifact: %s: %s", type(exc).__name__,
                     exc)
        return None


def usage_metadata(usage: Usage) -> dict[str, int]:
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
            "cached_tokens": usage.cached_tokens}


__all__: Sequence[str] = ["ARTIFACT_KEY", "CallLog", "budget_guard", "publish_cost_artifact"]
