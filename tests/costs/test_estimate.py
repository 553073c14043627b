"""Estimates before a run, checked against bills computed independently of the estimator.

The test server counts tokens with another BPE implementation (bpe-openai, see
tests/support/openai_server.py), checked against usage the real OpenAI API reported
(tests/costs/test_recorded_usage.py). Two comparisons:

* every prompt the estimator counts equals an independent cl100k count with the cookbook's
  framing, on every shipped CV and job and as billed through a real run;
* with the server billing as OpenAI does for gpt-4o-mini (o200k, schema included), the
  estimate of a real run lands within the tolerance docs/costs.md states.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from talentflow.costs import estimate as est
from talentflow.costs import prices, tokens
from talentflow.costs.estimate import EstimateSettings
from talentflow.llm import schema
from talentflow.llm.prompts import build_messages
from tests.costs.conftest import (
    ASSET,
    CACHED_TOKENS,
    SAMPLE,
    insert_candidates,
    ledger_rows,
    normalize,
    sample_rows,
    text_of,
    use_openai,
)
from tests.support.openai_server import (
    O200K,
    OpenAIServer,
    count_chat_tokens,
    count_schema_tokens,
    run_openai_server,
)

# The stated accuracy of an estimate with history (docs/costs.md): within 5% of the bill on
# 12 CVs after 8 CVs of history, billed as OpenAI bills gpt-4o-mini. Prompt tokens are over-
# counted by a known small amount (cl100k for an o200k model: PROMPT_OVERCOUNT at most); the
# rest is the completion projection (per-call completion ratios on the sample vary).
TOLERANCE = 0.05
PROMPT_OVERCOUNT = 0.02
JOBS = Path(SAMPLE).with_name("jobs.jsonl")


def _job_text(row: dict) -> str:
    """The text the pipeline normalizes for a job row (entities.JOB.text_sql)."""
    company = f" at {row['company']}" if row.get("company") else ""
    loc = f"Location: {row['location']}\n" if row.get("location") else ""
    return f"{row['title']}{company}\n{loc}{row['description']}"


@pytest.fixture
def ingested(conn: psycopg.Connection) -> psycopg.Connection:
    from talentflow.talent.ingest import ingest

    assert ingest(SAMPLE, entity="candidates").inserted == 240
    return conn


@pytest.fixture
def openai_billing() -> Iterator[OpenAIServer]:
    with run_openai_server(cached_tokens=CACHED_TOKENS, billing="openai") as srv:
        yield srv


def test_every_shipped_prompt_is_counted_as_an_independent_cl100k_count() -> None:
    cvs = [text_of(r) for r in sample_rows(240).values()]
    jobs = [_job_text(json.loads(line)) for line in JOBS.read_text().splitlines()]
    assert (len(cvs), len(jobs)) == (240, 220)
    for kind, texts in (("candidate", cvs), ("job", jobs)):
        for text in texts:
            assert tokens.prompt_tokens(text, kind) == \
                count_chat_tokens(build_messages(text, kind)), (kind, text[:80])


def test_estimate_lands_within_tolerance_of_an_openai_bill(ingested: psycopg.Connection,
                                                          openai_billing: OpenAIServer,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    conn, server = ingested, openai_billing
    use_openai(monkeypatch, server)  # gpt-4o-mini: billed with o200k, schema included
    table = prices.load()
    history, _ = est.select_keys(conn, ASSET, sample=8, seed=1)
    assert normalize(history).assets[ASSET].ran == history

    keys, selection = est.select_keys(conn, ASSET, sample=20, seed=2)
    keys = [k for k in keys if k not in history][:12]
    estimate = est.estimate(conn, ASSET, keys, ["gpt-4o-mini"], table, selection=selection,
                            settings=EstimateSettings())
    (mini,) = estimate.models
    assert mini.basis.startswith("history: 8 call(s) of gpt-4o-mini on normalized_candidates")
    assert mini.schema_tokens > 0  # the schema is estimated, as OpenAI bills it

    run = normalize(keys)
    assert run.assets[ASSET].ran == keys
    rows = [r for r in ledger_rows(conn) if r["flow_run_id"] == run.flow_run_id]
    assert len(rows) == len(keys)
    # The server billed the schema: each call's prompt is its messages plus the schema.
    per_call_schema = count_schema_tokens(schema.response_format(), O200K)
    assert all(r["prompt_tokens"] > per_call_schema for r in rows)
    billed_prompt = sum(r["prompt_tokens"] for r in rows)
    actual = sum((r["cost_usd"] for r in rows), Decimal(0))
    over = mini.prompt_tokens / billed_prompt - 1
    assert 0 <= over <= PROMPT_OVERCOUNT, (mini.prompt_tokens, billed_prompt)
    print(f"\nprompt tokens {mini.prompt_tokens} estimated vs {billed_prompt} billed "
          f"({over:+.2%}); estimate ${mini.expected_usd:.6f} (range ${mini.low_usd:.6f}-"
          f"${mini.high_usd:.6f}) vs actual ${actual:.6f} "
          f"({float((mini.expected_usd - actual) / actual):+.2%}) for {len(keys)} calls")
    assert abs(mini.expected_usd - actual) / actual < TOLERANCE, (mini.expected_usd, actual)
    # The range covers the completion and cache behaviour only, not the prompt over-count: on
    # this bill its low end sits above the actual cost (docs/costs.md), so only the high end
    # is held here.
    assert actual <= mini.high_usd


def test_each_prompt_is_counted_exactly_as_billed(conn: psycopg.Connection,
                                                  server: OpenAIServer,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Through a real run, against a server that bills cl100k messages and no schema."""
    use_openai(monkeypatch, server)
    rows = sample_rows(5, offset=100)
    texts = {k: text_of(r) for k, r in rows.items()}
    assert normalize(insert_candidates(conn, rows)).assets[ASSET].ran == list(rows)
    assert len(ledger_rows(conn)) == 5
    for row in ledger_rows(conn):
        assert tokens.prompt_tokens(texts[row["partition_key"]], "candidate") == \
            row["prompt_tokens"]


def test_without_history_the_configured_ratio_is_used(conn: psycopg.Connection,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.costs.conftest import sample_texts

    texts = sample_texts(4)
    monkeypatch.setenv(est.ENV_COMPLETION_RATIO, "0.2")
    estimate = est.estimate_texts(conn, ASSET, "candidate", texts, ["gpt-4.1", "mystery-model"],
                                  prices.load(), settings=EstimateSettings.from_env())
    gpt41, mystery = estimate.models
    assert "configured ratio 0.2" in gpt41.basis
    assert gpt41.schema_tokens == 4 * tokens.schema_tokens()
    assert gpt41.completion_tokens == round(gpt41.prompt_tokens * 0.2)
    assert gpt41.low_usd < gpt41.expected_usd < gpt41.high_usd
    assert mystery.unpriced and mystery.expected_usd is None
    assert "UNPRICED" in estimate.format()


def test_selections(ingested: psycopg.Connection) -> None:
    from tasks.definitions import defs

    conn = ingested
    assert est.select_keys(conn, ASSET, sample=5, seed=3) == \
        est.select_keys(conn, ASSET, sample=5, seed=3)
    assert est.select_keys(conn, ASSET, keys=["c-00002", "c-00001"])[0] == ["c-00002", "c-00001"]
    with pytest.raises(ValueError, match=r"no candidate row for key\(s\) 'c-nope'"):
        est.select_keys(conn, ASSET, keys=["c-00001", "c-nope"])
    missing, how = est.select_keys(conn, ASSET, states=frozenset({"missing"}),
                                   asset=defs.get(ASSET))
    assert len(missing) == 240 and how == "missing of 240"
    with pytest.raises(ValueError, match="makes no LLM calls"):
        est.select_keys(conn, "candidate_vectors", sample=1)


def test_cli_estimate_and_reports(ingested: psycopg.Connection, server: OpenAIServer,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from talentflow.cli.app import app

    runner = CliRunner()
    out = runner.invoke(app, ["costs", "estimate", "--sample", "3", "--model", "gpt-4o-mini",
                              "--model", "gpt-4.1", "--model", "llama3"])
    assert out.exit_code == 0, out.output
    assert "estimate for normalized_candidates: 3 key(s) (random sample of 3" in out.output
    assert "gpt-4o-mini: 3 call(s)" in out.output and "gpt-4.1: 3 call(s)" in out.output
    assert "UNPRICED - no price for llama3" in out.output
    assert "expected, range $" in out.output

    bad = runner.invoke(app, ["costs", "estimate", "c-00001", "--sample", "2"])
    assert bad.exit_code == 1 and "choose one selection" in bad.output

    use_openai(monkeypatch, server)
    assert normalize(["c-00001", "c-00002"]).assets[ASSET].ran == ["c-00001", "c-00002"]
    report = runner.invoke(app, ["costs", "--by", "asset", "--top", "1"])
    assert report.exit_code == 0, report.output
    assert "normalized_candidates" in report.output and "total" in report.output
    assert "most expensive partitions (top 1):" in report.output
    assert runner.invoke(app, ["costs", "prices"]).output.count("gpt-4o") >= 3
