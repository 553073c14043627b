"""Fixtures for the cost tests: the OpenAI-compatible test server (real SDK over HTTP), a
connection to the per-test database, the shipped sample CVs, and a small Prefect flow that
runs the real normalize task over batches of keys."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from talentflow.llm.settings import LLMSettings
from tests.support.openai_server import OpenAIServer, run_openai_server

ASSET = "normalized_candidates"
SAMPLE = Path(__file__).resolve().parents[2] / "data" / "candidates.jsonl"
# Every call's prompt has ~1,000 tokens; the server reports this many of them as cached.
CACHED_TOKENS = 256


@pytest.fixture
def conn(db: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(db, autocommit=True) as connection:
        yield connection


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with run_openai_server(cached_tokens=CACHED_TOKENS) as srv:
        yield srv


def openai_llm(srv: OpenAIServer, model: str = "gpt-4o-mini") -> LLMSettings:
    # One attempt: a failure test fails at once instead of retrying into the next behaviour.
    return LLMSettings(provider="openai", model=model, base_url=srv.base_url,
                       api_key="sk-test", timeout_s=10, max_attempts=1)


def sample_texts(n: int, offset: int = 0) -> dict[str, str]:
    """Texts of shipped CVs as the pipeline builds them (entities.CANDIDATE.text_sql)."""
    rows = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    out = {}
    for row in rows[offset:offset + n]:
        loc = f"Location: {row['location']}\n" if row.get("location") else ""
        out[row["id"]] = loc + row["cv_text"]
    return out


def run_batches(batches: list[dict[str, Any]]) -> dict[str, Any]:
    """Run the real `normalize_batch` once per batch inside one Prefect flow run.

    Each batch: {"texts": {key: text}, "llm": LLMSettings, "code_version": str (optional)}.
    Returns {"flow_run_id", "states": [state names], "results": [task results or None]}.
    """
    from prefect import flow
    from prefect.context import get_run_context

    from tasks.normalize import normalize_batch

    @flow(name="cost-test")
    def cost_test(batches: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {"flow_run_id": str(get_run_context().flow_run.id),
                               "states": [], "results": []}
        for b in batches:
            texts = b["texts"]
            state = normalize_batch(
                asset=ASSET, kind="candidate", code_version=b["code_version"],
                keys=list(texts),
                upstream_versions={k: {f"candidates[{k}]": _sha(t)} for k, t in texts.items()},
                texts=texts, llm=b["llm"], return_state=True,
            )
            out["states"].append(state.name)
            out["results"].append(state.result() if state.is_completed() else None)
        return out

    for b in batches:
        # Unique per test: Prefect's result cache outlives a test (it lives in PREFECT_HOME).
        b.setdefault("code_version", f"cost-test-{uuid.uuid4().hex}")
    return cost_test(batches)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


LEDGER_COLUMNS = ("provider", "model", "prompt_tokens", "completion_tokens", "cached_tokens",
                  "cost_usd", "asset", "partition_key", "flow_run_id", "task_run_id",
                  "called_at", "latency_s", "attempts", "status", "error")


def ledger_rows(conn: psycopg.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(f"SELECT {', '.join(LEDGER_COLUMNS)} FROM llm_calls ORDER BY id")
    return [dict(zip(LEDGER_COLUMNS, r, strict=True)) for r in rows.fetchall()]
