"""Settings come from a saved Prefect Block when one is named, else from the environment."""

from __future__ import annotations

import uuid

import pytest

from blocks.embedder import EmbedderConfig
from blocks.llm import LLMConfig
from blocks.settings import embedder_settings, llm_settings


def test_environment_when_no_block_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TALENTFLOW_LLM_BLOCK", raising=False)
    monkeypatch.setenv("TALENTFLOW_LLM_MODEL", "gpt-4.1-nano")
    monkeypatch.setenv("TALENTFLOW_EMBEDDING_BATCH_SIZE", "5")
    assert llm_settings().model == "gpt-4.1-nano"
    assert embedder_settings().batch_size == 5


def test_saved_blocks_win(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"t-{uuid.uuid4().hex[:8]}"
    LLMConfig(provider="openai", model="gpt-4.1-mini", api_key="sk-from-block",
              base_url="http://127.0.0.1:9/v1").save(name)
    EmbedderConfig(batch_size=7).save(name)
    monkeypatch.setenv("TALENTFLOW_LLM_BLOCK", name)
    monkeypatch.setenv("TALENTFLOW_EMBEDDER_BLOCK", name)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    llm = llm_settings()
    assert (llm.provider, llm.model, llm.base_url) == (
        "openai", "gpt-4.1-mini", "http://127.0.0.1:9/v1")
    assert llm.resolved_api_key() == "sk-from-block"
    assert embedder_settings().batch_size == 7
