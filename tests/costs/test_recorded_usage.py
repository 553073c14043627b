"""The oracles of the cost tests, checked against what the real OpenAI API billed.

tests/costs/fixtures/openai_usage_recordings.json holds prompts with the `usage.prompt_tokens`
the live API reported for them (OpenAI's cookbook, openai-python's recorded test answers; the
file says where each comes from). Two things are checked against them:

* the estimator's own count (talentflow.costs.tokens, tiktoken cl100k + cookbook framing) for
  the cl100k models the recordings cover, exactly, and for o200k models, its known direction
  (it counts more, never less);
* the test server's `billing="openai"` usage (another BPE implementation, both encodings, the
  schema billed as its compact JSON), which the estimate tests then compare estimates with:
  exactly where no schema was sent, within SCHEMA_SLACK tokens where one was.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openai import OpenAI

from talentflow.costs import tokens
from tests.support.openai_server import (
    CL100K,
    O200K,
    count_chat_tokens,
    encoding_for,
    run_openai_server,
)

FIXTURE = Path(__file__).parent / "fixtures" / "openai_usage_recordings.json"
RECORDINGS: list[dict[str, Any]] = json.loads(FIXTURE.read_text())["recordings"]
# How far the server's schema rule may be from a recorded structured-output call, in tokens
# (the recorded request bodies were regenerated, see the fixture's _about).
SCHEMA_SLACK = 2


def _ids(recs: list[dict[str, Any]]) -> list[str]:
    return [r["id"] for r in recs]


WITH_SCHEMA = [r for r in RECORDINGS if r["response_format"]]
WITHOUT_SCHEMA = [r for r in RECORDINGS if not r["response_format"]]


def test_the_recordings_cover_both_encodings_and_schemas() -> None:
    by_encoding = {encoding_for(r["model"]) for r in WITHOUT_SCHEMA}
    assert by_encoding == {CL100K, O200K}
    assert len(WITH_SCHEMA) >= 4
    # Each names where it was read.
    assert all({"repository", "path", "commit"} <= set(r["source"]) for r in RECORDINGS)


@pytest.fixture(scope="module")
def billed() -> dict[str, int]:
    """The test server's prompt_tokens for each recorded request, sent with the real SDK."""
    out = {}
    with run_openai_server(billing="openai") as server:
        client = OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
        for rec in RECORDINGS:
            extra = {"response_format": rec["response_format"]} if rec["response_format"] else {}
            answer = client.chat.completions.create(model=rec["model"],
                                                    messages=rec["messages"], **extra)
            assert answer.usage is not None
            out[rec["id"]] = answer.usage.prompt_tokens
        # What went over the wire is what the recording says was sent.
        assert [r.body["messages"] for r in server.chat_requests] == \
            [r["messages"] for r in RECORDINGS]
    return out


@pytest.mark.parametrize("rec", WITHOUT_SCHEMA, ids=_ids(WITHOUT_SCHEMA))
def test_the_server_bills_messages_as_the_api_did(rec: dict[str, Any],
                                                  billed: dict[str, int]) -> None:
    assert billed[rec["id"]] == rec["usage"]["prompt_tokens"]


@pytest.mark.parametrize("rec", WITH_SCHEMA, ids=_ids(WITH_SCHEMA))
def test_the_server_bills_a_schema_as_the_api_did(rec: dict[str, Any],
                                                  billed: dict[str, int]) -> None:
    recorded = rec["usage"]["prompt_tokens"]
    assert abs(billed[rec["id"]] - recorded) <= SCHEMA_SLACK, (billed[rec["id"]], recorded)
    # The schema is most of these prompts: billing none would be far off.
    messages_only = count_chat_tokens(rec["messages"], encoding_for(rec["model"]))
    assert recorded - messages_only > 4 * SCHEMA_SLACK


@pytest.mark.parametrize("rec", [r for r in WITHOUT_SCHEMA if encoding_for(r["model"]) == CL100K],
                         ids=_ids([r for r in WITHOUT_SCHEMA
                                   if encoding_for(r["model"]) == CL100K]))
def test_the_estimator_counts_cl100k_prompts_as_billed(rec: dict[str, Any]) -> None:
    assert tokens.count_messages(rec["messages"]) == rec["usage"]["prompt_tokens"]


@pytest.mark.parametrize("rec", [r for r in WITHOUT_SCHEMA if encoding_for(r["model"]) == O200K],
                         ids=_ids([r for r in WITHOUT_SCHEMA
                                   if encoding_for(r["model"]) == O200K]))
def test_the_estimator_counts_more_than_o200k_models_bill(rec: dict[str, Any]) -> None:
    """The estimator counts cl100k for every model: for gpt-4o-family models that is an
    over-estimate (docs/costs.md gives the size on the shipped sample)."""
    counted, recorded = tokens.count_messages(rec["messages"]), rec["usage"]["prompt_tokens"]
    assert recorded <= counted <= recorded * 1.10, (counted, recorded)


def test_the_server_counts_without_the_estimators_tokenizer() -> None:
    """The oracle is another implementation: counting with it loads no tiktoken at all."""
    import subprocess
    import sys

    code = ("import sys; from tests.support.openai_server import count_chat_tokens; "
            "n = count_chat_tokens([{'role': 'user', 'content': 'payroll and IFRS'}]); "
            "print(n, 'tiktoken' in sys.modules, 'tiktoken_ext' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).resolve().parents[2])
    count, tiktoken_loaded, ext_loaded = done.stdout.split()
    assert int(count) > 7 and (tiktoken_loaded, ext_loaded) == ("False", "False")
