"""Fixtures for the LLM tests: a live OpenAI-compatible test server and settings that point
the real SDK at it with fast retries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from talentflow.llm.settings import LLMSettings
from tests.support.openai_server import OpenAIServer, run_openai_server

TEST_KEY = "sk-test-0123456789"


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    with run_openai_server() as server:
        yield server


@pytest.fixture
def openai_settings(openai_server: OpenAIServer) -> LLMSettings:
    # Tiny back-off so retry tests take milliseconds; short timeout for the timeout test.
    return LLMSettings(
        provider="openai",
        model="gpt-4o-mini",
        base_url=openai_server.base_url,
        api_key=TEST_KEY,
        timeout_s=5,
        max_attempts=3,
        backoff_base_s=0.01,
        backoff_max_s=0.05,
    )
