"""LLM clients for the normalize step: a CV or a job posting in, a `NormalizedProfile` out.

    from talentflow.llm import LLMSettings, get_normalizer
    result = get_normalizer(LLMSettings.from_env()).normalize(cv_text, "candidate")

Providers: "rules" (offline, deterministic, free; the default) and "openai" (the official SDK
against OpenAI or any OpenAI-compatible server). Importing this package does not import the
`openai` SDK; asking for that provider does.
"""

from talentflow.llm.base import (
    NormalizationError,
    NormalizationResult,
    Normalizer,
    Usage,
)
from talentflow.llm.factory import get_normalizer
from talentflow.llm.settings import LLMSettings

__all__ = [
    "LLMSettings",
    "NormalizationError",
    "NormalizationResult",
    "Normalizer",
    "Usage",
    "get_normalizer",
]
