"""Which provider normalizes: a settings decision, made here and nowhere else."""

from __future__ import annotations

from talentflow.llm.base import Normalizer
from talentflow.llm.settings import LLMSettings


def get_normalizer(config: LLMSettings) -> Normalizer:
    """The provider the settings name. Imports lazily: the rules path must not pay for the
    `openai` SDK import."""
    if config.provider == "rules":
        from talentflow.llm.rules import RulesNormalizer

        return RulesNormalizer(max_input_chars=config.max_input_chars)
    if config.provider == "openai":
        from talentflow.llm.openai_normalizer import OpenAINormalizer

        return OpenAINormalizer(config)
    raise ValueError(f"unknown LLM provider {config.provider!r}; expected 'rules' or 'openai'")
