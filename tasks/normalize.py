"""normalize: a source text -> a validated profile, through the run's LLM provider.

Batch-aware (small batches: one bad answer or a budget stop costs little). One key failing
never fails the others; every call made is in the LLM ledger (tasks/costs.py).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from talentflow.costs.budget import BudgetStop
from talentflow.engine import BatchContext, KeyFailed, Output
from talentflow.llm.base import NormalizationError
from talentflow.llm.factory import get_normalizer
from talentflow.llm.settings import LLMSettings
from talentflow.talent.entities import entity_of_set
from tasks.costs import CallLog, budget_guard, usage_metadata


def normalize_profiles(ctx: BatchContext, texts: dict[str, str], llm: LLMSettings
                       ) -> dict[str, Output | Exception]:
    """Normalize each key's text. Provider and model are part of the code version (the `llm`
    resource), so switching them re-normalizes."""
    kind = entity_of_set(ctx.partitions.name).kind
    normalizer = get_normalizer(llm)
    guard = budget_guard(ctx.asset, llm, ctx.flow_run_id)  # a no-op unless a budget is set
    calls = CallLog(ctx.asset, ctx.flow_run_id)
    out: dict[str, Output | Exception] = {}
    try:
        for i, key in enumerate(ctx.keys):
            try:
                guard.check(key, texts[key], kind)
            except BudgetStop as stop:
                # The budget is spent: this key and the rest fail with its message, uncalled.
                for rest in ctx.keys[i:]:
                    out[rest] = KeyFailed(str(stop), {"budget_stop": True})
                break
            called_at, started = datetime.now(UTC), time.perf_counter()
            try:
                result = normalizer.normalize(texts[key], kind, entity_id=key)
            except NormalizationError as exc:
                guard.spend(exc.usage)
                # Every failure after all attempts is in the ledger with its attempts: a bad
                # answer with the tokens it was billed, an unanswered call with none.
                calls.add(key, provider=exc.provider or llm.provider,
                          model=exc.model or llm.model, usage=exc.usage, called_at=called_at,
                          latency_s=time.perf_counter() - started, attempts=exc.attempts,
                          error=str(exc))
                ctx.log_for(key).warning("%s", exc)
                out[key] = KeyFailed(str(exc), {"attempts": exc.attempts,
                                                "usage": usage_metadata(exc.usage)})
                continue
            guard.spend(result.usage)
            calls.add(key, provider=result.provider, model=result.model, usage=result.usage,
                      called_at=called_at, latency_s=result.latency_s,
                      attempts=result.attempts)
            out[key] = Output(
                {"profile": result.profile.model_dump(), "provider": result.provider,
                 "model": result.model},
                metadata={"provider": result.provider, "model": result.model,
                          "usage": usage_metadata(result.usage), "attempts": result.attempts,
                          "latency_s": round(result.latency_s, 4)},
            )
    finally:
        calls.write(ctx.conn)
    return out
