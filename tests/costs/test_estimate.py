"""Estimates before a run, checked against real runs on the shipped sample: the offline
prompt count equals what the server billed, and the projected cost lands near the bill."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest
from typer.testing import CliRunner

from talentflow.costs import estimate as est
from talentflow.costs import prices, tokens
from talentflow.costs.estimate import EstimateSettings
from tests.costs.conftest import (
    ASSET,
    SAMPLE,
    insert_candidates,
    ledger_rows,
    normalize,
    sample_rows,
    text_of,
    use_openai,
)
from tests.support.openai_server import OpenAIServer

# The stated accuracy of an estimate with history (see docs/costs.md): within 5% of the bill
# on 12 CVs after 8 CVs of history. Prompt tokens are exact; the rest is the completion
# projection (per-call completion ratios on the sample vary 0.07-0.10).
TOLERANCE = 0.05


@pytest.fixture
def ingested(conn: psycopg.Connection) -> psycopg.Connection:
    from talentflow.talent.ingest import ingest

    assert ingest(SAMPLE, entity="candidates").inserted == 240
    return conn


def test_estimate_lands_within_tolerance_of_the_bill(ingested: psycopg.Connection,
                                                     server: OpenAIServer,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    conn = ingested
    use_openai(monkeypatch, server)
    table = prices.load()
    # The test server does not bill the response_format schema (tests/support/openai_server):
    # estimate it the same way.
    settings = EstimateSettings(include_schema=False)
    history, _ = est.select_keys(conn, ASSET, sample=8, seed=1)
    assert normalize(history).assets[ASSET].ran == history

    keys, selection = est.select_keys(conn, ASSET, sample=20, seed=2)
    keys = [k for k in keys if k not in history][:12]
    estimate = est.estimate(conn, ASSET, keys, ["gpt-4o-mini"], table, settings=settings,
                            selection=selection)
    (mini,) = estimate.models
    assert mini.basis.startswith("history: 8 call(s) of gpt-4o-mini on normalized_candidates")

    run = normalize(keys)
    assert run.assets[ASSET].ran == keys
    rows = [r for r in ledger_rows(conn) if r["flow_run_id"] == run.flow_run_id]
    assert len(rows) == len(keys)
    actual = sum((r["cost_usd"] for r in rows), Decimal(0))
    # Prompt tokens are counted exactly; completion and cache shares are projected.
    assert mini.message_tokens == sum(r["prompt_tokens"] for r in rows)
    assert abs(mini.expected_usd - actual) / actual < TOLERANCE, (mini.expected_usd, actual)
    assert mini.low_usd <= actual <= mini.high_usd
    print(f"\nestimate ${mini.expected_usd:.6f} (range ${mini.low_usd:.6f}-"
          f"${mini.high_usd:.6f}) vs actual ${actual:.6f} for {len(keys)} calls")


def test_each_prompt_is_counted_exactly_as_billed(conn: psycopg.Connection,
                                                  server: OpenAIServer,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
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
