"""Which LLM normalizes, and how patiently. One pydantic model, filled from the environment
(`LLMSettings.from_env`) or from the `talentflow-llm` Prefect block (`blocks/llm.py`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"

ENV_PROVIDER = "TALENTFLOW_LLM_PROVIDER"
ENV_MODEL = "TALENTFLOW_LLM_MODEL"
ENV_BASE_URL = "OPENAI_BASE_URL"
ENV_API_KEY = "OPENAI_API_KEY"

Provider = Literal["rules", "openai"]


class LLMSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # "rules" is the default so a fresh checkout runs offline and free.
    provider: Provider = "rules"
    model: str = Field(default="gpt-4o-mini", min_length=1)
    # None: OPENAI_BASE_URL, else api.openai.com. Any OpenAI-compatible server works
    # (vLLM, Ollama, llama.cpp: e.g. http://localhost:11434/v1).
    base_url: str | None = None
    api_key: SecretStr | None = None
    timeout_s: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=4, ge=1, le=20)
    backoff_base_s: float = Field(default=1.0, ge=0)
    backoff_max_s: float = Field(default=30.0, ge=0)
    # Caps both what the rules read and what is sent to the model: a 5 MB "CV" must not
    # become a 1.3M-token bill. ~20k characters is ~5k tokens, far above a normal CV.
    max_input_chars: int = Field(default=20_000, ge=200)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> LLMSettings:
        """Settings from TALENTFLOW_LLM_PROVIDER, TALENTFLOW_LLM_MODEL, OPENAI_BASE_URL and
        OPENAI_API_KEY (empty values count as unset); keyword overrides win."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for field, name in (
            ("provider", ENV_PROVIDER),
            ("model", ENV_MODEL),
            ("base_url", ENV_BASE_URL),
            ("api_key", ENV_API_KEY),
        ):
            value = (env.get(name) or "").strip()
            if value:
                values[field] = value.lower() if field == "provider" else value
        values.update(overrides)
        return cls.model_validate(values)

    def resolved_base_url(self, env: Mapping[str, str] | None = None) -> str:
        env = os.environ if env is None else env
        return self.base_url or env.get(ENV_BASE_URL) or DEFAULT_OPENAI_BASE_URL

    def resolved_api_key(self, env: Mapping[str, str] | None = None) -> str:
        """The key from these settings, else OPENAI_API_KEY, else a ValueError saying how to
        set one."""
        if self.api_key is not None and self.api_key.get_secret_value().strip():
            return self.api_key.get_secret_value().strip()
        env = os.environ if env is None else env
        key = (env.get(ENV_API_KEY) or "").strip()
        if key:
            return key
        raise ValueError(
            "the 'openai' LLM provider needs an API key: export OPENAI_API_KEY=..., or set "
            "api_key in LLMSettings / the 'talentflow-llm' Prefect block. For a local "
            "OpenAI-compatible server without auth any non-empty value works. "
            f"To run offline instead, set {ENV_PROVIDER}=rules."
        )
