"""LLMSettings from the environment, the provider factory, and the Prefect block."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from talentflow.llm import LLMSettings, Normalizer, get_normalizer
from talentflow.llm.rules import RulesNormalizer


def test_defaults_run_offline() -> None:
    settings = LLMSettings.from_env({})
    assert settings.provider == "rules"
    assert settings.model == "gpt-4o-mini"
    assert settings.api_key is None
    normalizer = get_normalizer(settings)
    assert isinstance(normalizer, RulesNormalizer) and isinstance(normalizer, Normalizer)


def test_from_env_reads_the_four_variables() -> None:
    settings = LLMSettings.from_env(
        {
            "TALENTFLOW_LLM_PROVIDER": "OpenAI",
            "TALENTFLOW_LLM_MODEL": "qwen2.5:7b",
            "OPENAI_BASE_URL": "http://localhost:11434/v1",
            "OPENAI_API_KEY": "sk-secret",
            "TALENTFLOW_UNRELATED": "x",
        }
    )
    assert settings.provider == "openai"
    assert settings.model == "qwen2.5:7b"
    assert settings.base_url == "http://localhost:11434/v1"
    assert settings.api_key == SecretStr("sk-secret")
    assert "sk-secret" not in repr(settings)  # never in logs


def test_empty_values_count_as_unset_and_overrides_win() -> None:
    settings = LLMSettings.from_env({"TALENTFLOW_LLM_MODEL": " "}, max_attempts=2)
    assert settings.model == "gpt-4o-mini"
    assert settings.max_attempts == 2


def test_bad_provider_is_a_clear_error() -> None:
    with pytest.raises(ValidationError, match="rules"):
        LLMSettings.from_env({"TALENTFLOW_LLM_PROVIDER": "anthropic"})


def test_api_key_resolution() -> None:
    assert LLMSettings(api_key="sk-a").resolved_api_key({"OPENAI_API_KEY": "sk-b"}) == "sk-a"
    assert LLMSettings().resolved_api_key({"OPENAI_API_KEY": "sk-b"}) == "sk-b"
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        LLMSettings().resolved_api_key({})


def test_base_url_resolution() -> None:
    assert LLMSettings(base_url="http://a/v1").resolved_base_url({}) == "http://a/v1"
    assert LLMSettings().resolved_base_url({"OPENAI_BASE_URL": "http://b/v1"}) == "http://b/v1"
    assert LLMSettings().resolved_base_url({}) == "https://api.openai.com/v1"


def test_openai_provider_without_key_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ValueError, match="export OPENAI_API_KEY"):
        get_normalizer(LLMSettings(provider="openai"))


def test_openai_provider_from_factory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    normalizer = get_normalizer(LLMSettings(provider="openai", model="gpt-4.1-mini"))
    assert isinstance(normalizer, Normalizer)
    assert (normalizer.provider, normalizer.model) == ("openai", "gpt-4.1-mini")


def test_block_mirrors_settings() -> None:
    from blocks.llm import LLMConfig

    assert LLMConfig._block_type_name == "talentflow-llm"
    assert set(LLMConfig.model_fields) == set(LLMSettings.model_fields)
    # Same defaults on both paths.
    assert LLMConfig().to_settings() == LLMSettings()
    block = LLMConfig(provider="openai", model="m", api_key="sk-block", max_attempts=7)
    settings = block.to_settings()
    assert settings.provider == "openai" and settings.max_attempts == 7
    assert settings.resolved_api_key({}) == "sk-block"
