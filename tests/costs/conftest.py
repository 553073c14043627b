"""Fixtures for the cost tests: the OpenAI-compatible test server (real SDK over HTTP), a
connection to the per-test database, the shipped sample CVs, and helpers that run the real
`normalized_candidates` asset on the engine over rows inserted into `candidates`.

The LLM settings reach the run the way they do in production: the `llm` resource of
`tasks.definitions:defs`, resolved once per run from the environment (set here with
monkeypatch). The environment cannot lower `LLMSettings.max_attempts` (4), so tests that need
an unbilled failure queue four HTTP 500s with `Retry-After: 0` (`server_errors`): the real
retry loop runs, without its back-off sleeps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest

from talentflow.engine import RunReport
from talentflow.llm.settings import LLMSettings
from tests.support.openai_server import Behaviour, OpenAIServer, run_openai_server, status

ASSET = "normalized_candidates"
SAMPLE = Path(__file__).resolve().parents[2] / "data" / "candidates.jsonl"
# Every call's prompt has ~1,000 tokens; the server reports this many of them as cached.
CACHED_TOKENS = 256
# Attempts the openai provider makes before giving up on a retryable error (the default;
# no environment variable changes it).
MAX_ATTEMPTS = LLMSettings().max_attempts


@pytest.fixture
def conn(db: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(db, autocommit=True) as connection:
        yield connection


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with run_openai_server(cached_tokens=CACHED_TOKENS) as srv:
        yield srv


@pytest.fixture(autouse=True)
def llm_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No outside LLM block or budget leaks into a test; each test sets what it needs."""
    for name in ("TALENTFLOW_LLM_BLOCK", "TALENTFLOW_LLM_PROVIDER", "TALENTFLOW_LLM_MODEL",
                 "OPENAI_BASE_URL", "OPENAI_API_KEY", "TALENTFLOW_BUDGET_RUN_USD",
                 "TALENTFLOW_BUDGET_DAY_USD"):
        monkeypatch.delenv(name, raising=False)
    yield


def use_openai(monkeypatch: pytest.MonkeyPatch, srv: OpenAIServer,
               model: str = "gpt-4o-mini") -> None:
    """The run's `llm` resource: the openai provider against the test server."""
    monkeypatch.delenv("TALENTFLOW_LLM_BLOCK", raising=False)
    monkeypatch.setenv("TALENTFLOW_LLM_PROVIDER", "openai")
    monkeypatch.setenv("TALENTFLOW_LLM_MODEL", model)
    monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")


def use_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """The run's `llm` resource: the offline rules normalizer."""
    monkeypatch.delenv("TALENTFLOW_LLM_BLOCK", raising=False)
    monkeypatch.setenv("TALENTFLOW_LLM_PROVIDER", "rules")
    monkeypatch.delenv("TALENTFLOW_LLM_MODEL", raising=False)


def server_errors() -> list[Behaviour]:
    """HTTP 500 for every attempt of one call (unbilled), retried at once (Retry-After: 0)."""
    return [status(500, retry_after="0")] * MAX_ATTEMPTS


def sample_rows(n: int, offset: int = 0) -> dict[str, dict[str, Any]]:
    """Shipped CVs (data/candidates.jsonl) by id."""
    rows = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    return {row["id"]: row for row in rows[offset:offset + n]}


def text_of(row: Mapping[str, Any]) -> str:
    """The text the pipeline normalizes for a row (entities.CANDIDATE.text_sql)."""
    loc = f"Location: {row['location']}\n" if row.get("location") else ""
    return loc + row["cv_text"]


def sample_texts(n: int, offset: int = 0) -> dict[str, str]:
    """Texts of shipped CVs as the pipeline builds them."""
    return {key: text_of(row) for key, row in sample_rows(n, offset).items()}


def insert_candidates(conn: psycopg.Connection, rows: Mapping[str, Mapping[str, Any]]
                      ) -> list[str]:
    """Insert rows into `candidates` (real SQL: the table's triggers and content hash run).
    Returns their keys, in order."""
    with conn.transaction():
        for key, row in rows.items():
            conn.execute("INSERT INTO candidates (id, name, location, cv_text) "
                         "VALUES (%s, %s, %s, %s)",
                         [key, row["name"], row.get("location"), row["cv_text"]])
    return list(rows)


def normalize(keys: Sequence[str], **kwargs: Any) -> RunReport:
    """Materialize `normalized_candidates` for `keys` (in this order: the engine calls the
    LLM in the order of the selection) through the real `materialize` flow.

    The `candidates` source is selected too (`+`), as the single-key flows do: `materialize`
    observes only the sources in its selection, so without it a row inserted since the last
    observation is an unregistered key and an edited row does not look stale."""
    from talentflow.engine import materialize
    from tasks.definitions import defs

    return materialize(defs, [f"+{ASSET}"], keys=list(keys), **kwargs)


def requested_keys(srv: OpenAIServer, *texts: Mapping[str, str]) -> list[str]:
    """The key of each chat request the server received, in arrival order, told by the
    document in its user message (exactly one of the texts given: {key: text} mappings)."""
    by_text = {text: key for mapping in texts for key, text in mapping.items()}
    out = []
    for request in srv.chat_requests:
        user = next(m["content"] for m in request.body["messages"] if m["role"] == "user")
        found = _DOCUMENT.search(user)
        assert found, f"no document in the request: {user[:200]!r}"
        out.append(by_text[found.group(1)])
    return out


_DOCUMENT = re.compile(r'<document kind="candidate">\n(.*)\n</document>', re.S)


LEDGER_COLUMNS = ("provider", "model", "prompt_tokens", "completion_tokens", "cached_tokens",
                  "cost_usd", "asset", "partition_key", "flow_run_id", "task_run_id",
                  "called_at", "latency_s", "attempts", "status", "error")


def ledger_rows(conn: psycopg.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(f"SELECT {', '.join(LEDGER_COLUMNS)} FROM llm_calls ORDER BY id")
    return [dict(zip(LEDGER_COLUMNS, r, strict=True)) for r in rows.fetchall()]


def markdown_rows(markdown: str) -> dict[str, list[str]]:
    """The body rows of the markdown tables in `markdown`, by first cell: cells stripped, so
    the padding and alignment of the table do not matter."""
    rows = {}
    for line in markdown.splitlines():
        line = line.strip()
        if not (line.startswith("|") and line.endswith("|")):
            continue
        cells = [c.strip() for c in line[1:-1].split("|")]
        if cells and not all(set(c) <= set("-: ") for c in cells):
            rows[cells[0]] = cells[1:]
    return rows
