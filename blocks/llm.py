"""Prefect Block for the normalize step's LLM: provider, model, endpoint, key and patience.
Save one with `LLMConfig(provider="openai", api_key="sk-...").save("default")`; tasks read it
with `LLMConfig.load("default").to_settings()`, or fall back to `LLMSettings.from_env()`."""

from __future__ import annotations

from typing import Literal

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from talentflow.llm.settings import LLMSettings

# Defaults come from LLMSettings so the block and the environment path cannot disagree.
_D = LLMSettings()


class LLMConfig(Block):
    _block_type_name = "talentflow-llm"
    _description = "Which LLM normalizes CVs and job postings for talentflow, and how."

    provider: Literal["rules", "openai"] = Field(
        default=_D.provider,
        description="'rules' (offline, deterministic, free) or 'openai' (OpenAI-compatible API).",
    )
    model: str = Field(default=_D.model, description="Model name, e.g. gpt-4o-mini.")
    base_url: str | None = Field(
        default=None,
        description="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1; "
        "empty: OPENAI_BASE_URL or api.openai.com.",
    )
    api_key: SecretStr | None = Field(
        default=None, description="API key; empty: the OPENAI_API_KEY environment variable."
    )
    timeout_s: float = Field(default=_D.timeout_s, gt=0, description="Per-request timeout.")
    max_attempts: int = Field(default=_D.max_attempts, ge=1, le=20)
    backoff_base_s: float = Field(default=_D.backoff_base_s, ge=0)
    backoff_max_s: float = Field(default=_D.backoff_max_s, ge=0)
    max_input_chars: int = Field(
        default=_D.max_input_chars, ge=200, description="Longer texts are truncated."
    )

    def to_settings(self) -> LLMSettings:
        return LLMSettings(
            provider=self.provider,
            model=self.model,
            base_url=self.base_url or None,
            api_key=self.api_key,
            timeout_s=self.timeout_s,
            max_attempts=self.max_attempts,
            backoff_base_s=self.backoff_base_s,
            backoff_max_s=self.backoff_max_s,
            max_input_chars=self.max_input_chars,
        )
