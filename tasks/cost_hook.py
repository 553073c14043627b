"""The Prefect side of LLM cost tracking: the task hook that writes the ledger, the budget
guard of the current task run, and the run's cost artifact.

`record_llm_calls` is both the `on_completion` and the `on_failure` hook of every LLM task
(`tasks/normalize.py`). It writes one `llm_calls` row per call from the task's result:
"profiles" (answered calls, the offline rules normalizer's included at $0) and
"failed_usage" (calls that failed but were billed). A cache hit (state "Cached": Prefect
calls `on_completion` for those too) made no call and records nothing. On a task failure it
records what the exception carries (a `NormalizationError` with billed `usage`).

Hooks run client-side, best effort, after the task: they must be fast (one connection, one
INSERT per batch) and must never raise — a failure to record is logged, not fatal.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from talentflow.costs import ledger, reports
from talentflow.costs import prices as price_table
from talentflow.costs.budget import BudgetGuard, BudgetSettings
from talentflow.costs.estimate import EstimateSettings
from talentflow.costs.ledger import LLMCall
from talentflow.db import connect
from talentflow.llm.base import NormalizationError, Usage
from talentflow.llm.settings import LLMSettings

ARTIFACT_KEY = "llm-costs"  # artifact keys: lowercase letters, digits and dashes only

_log = logging.getLogger(__name__)


def _logger() -> logging.Logger | logging.LoggerAdapter:
    # Inside a run the warning belongs in the run's logs (the UI); elsewhere, plain logging.
    try:
        from prefect.logging import get_run_logger

        return get_run_logger()
    except Exception:  # noqa: BLE001 - no run context
        return _log


def _current_run_ids() -> tuple[str | None, str | None]:
    """(flow run id, task run id) of the current Prefect context, None outside one."""
    from prefect.context import FlowRunContext, TaskRunContext

    task_ctx = TaskRunContext.get()
    if task_ctx is not None:
        flow_run = task_ctx.task_run.flow_run_id
        return (str(flow_run) if flow_run else None), str(task_ctx.task_run.id)
    flow_ctx = FlowRunContext.get()
    if flow_ctx is not None and flow_ctx.flow_run is not None:
        return str(flow_ctx.flow_run.id), None
    return None, None


# --------------------------------------------------------------------------------------------
# Inside the task


def budget_guard(asset: str, llm: LLMSettings) -> BudgetGuard:
    """The budget check for the current task run: `check()` before each call, `spend()` after.
    Inactive (no query, no token counting) unless TALENTFLOW_BUDGET_RUN_USD or
    TALENTFLOW_BUDGET_DAY_USD is set, and always for the free rules provider."""
    budget = BudgetSettings.from_env()
    active = budget.enabled and llm.provider != "rules"
    flow_run_id, _ = _current_run_ids()
    return BudgetGuard(
        budget, provider=llm.provider, model=llm.model, asset=asset, flow_run_id=flow_run_id,
        connect=connect,
        prices=price_table.load() if active else price_table.PriceTable([]),
        settings=EstimateSettings.from_env() if active else None,
        max_chars=llm.max_input_chars,
    )


def failed_call(exc: NormalizationError, called_at: datetime, latency_s: float
                ) -> dict[str, Any] | None:
    """The task result's "failed_usage" entry for a failed call, or None if nothing was
    billed (a bad answer is billed; a refused connection is not)."""
    if not exc.usage.total_tokens:
        return None
    return {"provider": exc.provider, "model": exc.model, "usage": asdict(exc.usage),
            "attempts": exc.attempts, "called_at": called_at.isoformat(),
            "latency_s": latency_s}


# --------------------------------------------------------------------------------------------
# The hook


def _when(entry: dict[str, Any], fallback: datetime) -> datetime:
    try:
        return datetime.fromisoformat(entry["called_at"])
    except (KeyError, TypeError, ValueError):
        return fallback  # a result written before calls carried their time


def calls_from_result(result: dict[str, Any], prices: price_table.PriceTable, *, asset: str,
                      flow_run_id: str | None, task_run_id: str | None,
                      finished_at: datetime) -> list[LLMCall]:
    """Ledger rows for an LLM task's result ({"profiles", "errors", "failed_usage"})."""
    calls = []
    errors = result.get("errors") or {}
    for status, entries in (("ok", result.get("profiles") or {}),
                            ("failed", result.get("failed_usage") or {})):
        for key, entry in entries.items():
            usage = entry.get("usage") or {}
            calls.append(ledger.priced_call(
                prices,
                provider=str(entry.get("provider") or "unknown"),
                model=str(entry.get("model") or "unknown"),
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", 0)),
                cached_tokens=int(usage.get("cached_tokens", 0)),
                called_at=_when(entry, finished_at),
                asset=asset, partition_key=key, flow_run_id=flow_run_id,
                task_run_id=task_run_id, latency_s=entry.get("latency_s"),
                attempts=entry.get("attempts"), status=status,
                error=errors.get(key) if status == "failed" else None,
            ))
    return calls


def _calls_from_failure(exc: BaseException, prices: price_table.PriceTable, *, asset: str,
                        flow_run_id: str | None, task_run_id: str | None,
                        finished_at: datetime) -> list[LLMCall]:
    usage = getattr(exc, "usage", None)
    if not isinstance(usage, Usage) or not usage.total_tokens:
        return []
    return [ledger.priced_call(
        prices, provider=str(getattr(exc, "provider", None) or "unknown"),
        model=str(getattr(exc, "model", None) or "unknown"),
        prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
        cached_tokens=usage.cached_tokens, called_at=finished_at, asset=asset,
        partition_key=getattr(exc, "entity_id", None), flow_run_id=flow_run_id,
        task_run_id=task_run_id, attempts=getattr(exc, "attempts", None), status="failed",
        error=f"{type(exc).__name__}: {exc}",
    )]


def _asset_of(task: Any, task_run: Any) -> str:
    # Hooks run inside the task run's context (measured on Prefect 3.8), which holds the
    # parameters; the task name is the fallback so a row is never lost for want of a label.
    from prefect.context import TaskRunContext

    ctx = TaskRunContext.get()
    if ctx is not None and ctx.task_run.id == task_run.id:
        asset = (ctx.parameters or {}).get("asset")
        if isinstance(asset, str) and asset:
            return asset
    return str(getattr(task, "name", None) or "unknown")


def record_llm_calls(task: Any, task_run: Any, state: Any) -> None:
    """`on_completion` / `on_failure` hook: one ledger row per LLM call of this task run."""
    try:
        if state.name == "Cached":
            return  # served from the cache: no call was made, nothing was billed
        finished_at = datetime.now(UTC)
        common = {
            "asset": _asset_of(task, task_run),
            "flow_run_id": str(task_run.flow_run_id) if task_run.flow_run_id else None,
            "task_run_id": str(task_run.id),
            "finished_at": finished_at,
        }
        prices = price_table.load()
        if state.is_completed():
            result = state.result()
            calls = calls_from_result(result, prices, **common) if isinstance(result, dict) \
                else []
        elif state.is_failed():
            exc = state.result(raise_on_failure=False)
            calls = _calls_from_failure(exc, prices, **common) \
                if isinstance(exc, BaseException) else []
        else:
            return
        if calls:
            with connect() as conn:
                ledger.record_calls(conn, calls)
    except Exception as exc:  # noqa: BLE001 - a hook must never fail the run it observes
        _logger().warning("LLM cost hook could not record task run %s (%s): %s: %s",
                          getattr(task_run, "id", "?"), getattr(state, "name", "?"),
                          type(exc).__name__, exc)


# --------------------------------------------------------------------------------------------
# End of a flow run


def publish_cost_artifact(flow_run_id: str | None = None) -> UUID | None:
    """Attach the run's LLM cost summary to the flow run as the markdown artifact `llm-costs`
    (same key every run: Prefect keeps each as a new version). Call it at the end of a flow;
    `flow_run_id` defaults to the current flow run. Best effort: returns the artifact id, or
    None (with a warning in the run's log) if it could not be published."""
    try:
        run_id = flow_run_id or _current_run_ids()[0]
        if run_id is None:
            raise RuntimeError("no flow run: call it inside a flow or pass flow_run_id")
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
        _logger().warning("could not publish the LLM cost artifact: %s: %s",
                          type(exc).__name__, exc)
        return None
