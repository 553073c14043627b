"""normalize: source text -> NormalizedProfile, through the configured LLM provider."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import task

from talentflow.llm.base import NormalizationError, get_normalizer
from talentflow.llm.settings import LLMSettings
from tasks.caching import partition_cache_key


@task(name="normalize", cache_key_fn=partition_cache_key, persist_result=True,
      result_serializer="json")
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

    Returns {"profiles": {key: {...profile, provider, model, usage}}, "errors": {key: reason}}.
    Provider and model are part of `code_version`, so switching them re-normalizes.
    """
    normalizer = get_normalizer(llm)
    profiles: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key in keys:
        try:
            result = normalizer.normalize(texts[key], kind, entity_id=key)
        except NormalizationError as exc:
            errors[key] = str(exc)
            continue
        profiles[key] = {
            "profile": result.profile.model_dump(),
            "provider": result.provider,
            "model": result.model,
            "usage": asdict(result.usage),
            "latency_s": result.latency_s,
            "attempts": result.attempts,
        }
    return {"profiles": profiles, "errors": errors}
