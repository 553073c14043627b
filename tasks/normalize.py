"""normalize: source text -> NormalizedProfile, through the configured LLM provider."""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from prefect import task

from talentflow.costs.budget import BudgetStop
from talentflow.llm.base import NormalizationError
from talentflow.llm.factory import get_normalizer
from talentflow.llm.settings import LLMSettings
from tasks.caching import partition_cache_key
from tasks.cost_hook import budget_guard, failed_call, record_llm_calls


# The cost hook writes one ledger row per LLM call from the result (nothing on a cache hit).
@task(name="normalize", cache_key_fn=partition_cache_key, persist_result=True,
      result_serializer="json", on_completion=[record_llm_calls], on_failure=[record_llm_calls])
def normalize_batch(
    asset: str,
    kind: str,
    code_version: str,
    keys: list[str],
    upstream_versions: dict[str, Any],
    texts: dict[str, str],
    llm: LLMSettings,
) -> dict[str, Any]:
    """Normalize each key's text; one key failing never fails the others.

    Returns {"profiles": {key: {...profile, provider, model, usage, called_at}},
    "errors": {key: reason}, "failed_usage": {key: usage of a failed call that was billed}}.
    Provider and model are part of `code_version`, so switching them re-normalizes.
    A configured budget (docs/costs.md) is checked before each call; once it would be passed,
    this key and the rest of the batch fail with the budget's message, uncalled.
    """
    normalizer = get_normalizer(llm)
    guard = budget_guard(asset, llm)  # a no-op unless a budget is configured
    profiles: dict[str, Any] = {}
    errors: dict[str, str] = {}
    failed_usage: dict[str, Any] = {}
    budget_stop: str | None = None
    for i, key in enumerate(keys):
        try:
            guard.check(key, texts[key], kind)
        except BudgetStop as stop:
            budget_stop = str(stop)
            errors.update(dict.fromkeys(keys[i:], budget_stop))
            break
        called_at, started = datetime.now(UTC), time.perf_counter()
        try:
            result = normalizer.normalize(texts[key], kind, entity_id=key)
        except NormalizationError as exc:
            errors[key] = str(exc)
            guard.spend(exc.usage)
            if billed := failed_call(exc, called_at, time.perf_counter() - started):
                failed_usage[key] = billed
            continue
        guard.spend(result.usage)
        profiles[key] = {
            "profile": result.profile.model_dump(),
            "provider": result.provider,
            "model": result.model,
            "usage": asdict(result.usage),
            "latency_s": result.latency_s,
            "attempts": result.attempts,
            "called_at": called_at.isoformat(),
        }
    return {"profiles": profiles, "errors": errors, "failed_usage": failed_usage,
            "budget_stop": budget_stop}
