"""The cost hook on the real normalize task, in real Prefect flow runs, with the real openai
SDK talking HTTP to the local test server: ledger rows are exactly what the server billed."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest

from talentflow.costs import prices, reports
from tests.costs.conftest import (
    ASSET,
    CACHED_TOKENS,
    ledger_rows,
    openai_llm,
    run_batches,
    sample_texts,
)
from tests.support.openai_server import OpenAIServer, malformed, status

MINI = prices.load().lookup("gpt-4o-mini", datetime.now(UTC).date())


def test_rows_match_the_reported_usage_and_a_cache_hit_records_nothing(
    conn: psycopg.Connection, server: OpenAIServer
) -> None:
    texts = sample_texts(3)
    batch = {"texts": texts, "llm": openai_llm(server)}
    first = run_batches([batch])
    assert first["states"] == ["Completed"]
    assert sorted(first["results"][0]["profiles"]) == sorted(texts)

    rows = ledger_rows(conn)
    answers = [r.usage for r in server.responses]
    assert len(rows) == len(answers) == 3
    for key, row, usage in zip(texts, rows, answers, strict=True):  # calls run in key order
        cached = usage["prompt_tokens_details"]["cached_tokens"]
        assert cached == CACHED_TOKENS
        assert (row["partition_key"], row["prompt_tokens"], row["completion_tokens"],
                row["cached_tokens"]) == (key, usage["prompt_tokens"],
                                          usage["completion_tokens"], cached)
        # Cached tokens at the cached rate, the rest of the prompt at the input rate.
        expected = (Decimal(usage["prompt_tokens"] - cached) * MINI.input_usd_per_mtok
                    + Decimal(cached) * MINI.cached_input_usd_per_mtok
                    + Decimal(usage["completion_tokens"]) * MINI.output_usd_per_mtok
                    ) / 1_000_000
        assert row["cost_usd"] == expected
        assert (row["provider"], row["model"], row["asset"], row["status"]) == (
            "openai", "gpt-4o-mini", ASSET, "ok")
        assert row["flow_run_id"] == first["flow_run_id"] and row["task_run_id"]
        assert row["latency_s"] > 0 and row["attempts"] == 1 and row["error"] is None
        assert abs((datetime.now(UTC) - row["called_at"]).total_seconds()) < 300
    assert len({r["task_run_id"] for r in rows}) == 1  # one batch = one task run

    # The same batch again: Prefect serves it from the cache ("Cached"), the hook fires and
    # must record nothing; the server sees no request.
    again = run_batches([batch])  # run_batches kept the batch's code version in it
    assert again["states"] == ["Cached"]
    assert len(server.responses) == 3
    assert len(ledger_rows(conn)) == 3

    summary = reports.run_summary(conn, first["flow_run_id"])
    total = sum((r["cost_usd"] for r in rows), Decimal(0))
    assert f"${total:,.6f}" in summary and "3 call(s) (0 failed)" in summary
    assert "no LLM calls" in reports.run_summary(conn, again["flow_run_id"])


def test_billed_failures_are_recorded_and_unbilled_ones_are_not(
    conn: psycopg.Connection, server: OpenAIServer
) -> None:
    texts = sample_texts(3, offset=10)
    ok_key, bad_answer, server_error = texts
    # Served in call order: prose instead of JSON (billed), then an HTTP 500 (not billed).
    server.enqueue(malformed(), status(500))
    texts = {bad_answer: texts[bad_answer], server_error: texts[server_error],
             ok_key: texts[ok_key]}
    out = run_batches([{"texts": texts, "llm": openai_llm(server)}])
    result = out["results"][0]
    assert sorted(result["errors"]) == sorted([bad_answer, server_error])
    assert list(result["failed_usage"]) == [bad_answer]

    rows = {r["partition_key"]: r for r in ledger_rows(conn)}
    assert sorted(rows) == sorted([bad_answer, ok_key])
    billed = server.responses[0].usage
    failed = rows[bad_answer]
    assert failed["status"] == "failed" and "not JSON" in failed["error"]
    assert (failed["prompt_tokens"], failed["completion_tokens"], failed["cached_tokens"]) == (
        billed["prompt_tokens"], billed["completion_tokens"], CACHED_TOKENS)
    assert failed["cost_usd"] == MINI.cost(billed["prompt_tokens"],
                                           billed["completion_tokens"], CACHED_TOKENS)
    assert rows[ok_key]["status"] == "ok"


def test_rules_calls_cost_zero_and_unknown_models_are_flagged_unpriced(
    conn: psycopg.Connection, server: OpenAIServer
) -> None:
    from talentflow.llm.settings import LLMSettings

    out = run_batches([
        {"texts": sample_texts(2, offset=20), "llm": LLMSettings(provider="rules")},
        {"texts": sample_texts(1, offset=30), "llm": openai_llm(server, "my-local-llama")},
    ])
    assert out["states"] == ["Completed", "Completed"]
    rows = ledger_rows(conn)
    rules_rows = [r for r in rows if r["provider"] == "rules"]
    assert len(rules_rows) == 2
    assert all(r["cost_usd"] == 0 and r["prompt_tokens"] == 0 for r in rules_rows)
    (llama,) = [r for r in rows if r["model"] == "my-local-llama"]
    assert llama["cost_usd"] is None and llama["prompt_tokens"] > 0  # unknown, not $0

    table = reports.format_table(reports.costs_by(conn, "model"), "model")
    assert "unpriced" in table and "UNPRICED: 1 call(s) of my-local-llama" in table
    assert "rules-v1" in table
    summary = reports.run_summary(conn, out["flow_run_id"])
    assert "at least $0.000000" in summary and "my-local-llama" in summary


def test_a_failed_task_records_what_its_error_billed(conn: psycopg.Connection) -> None:
    from prefect import flow, task

    from talentflow.llm.base import NormalizationError, Usage
    from tasks.cost_hook import record_llm_calls

    @task(on_completion=[record_llm_calls], on_failure=[record_llm_calls])
    def one_call(asset: str, key: str) -> dict:
        raise NormalizationError("model answer is not JSON", kind="candidate", entity_id=key,
                                 provider="openai", model="gpt-4o-mini", attempts=2,
                                 usage=Usage(1200, 80, 1024))

    @flow
    def failing() -> str:
        return one_call("normalized_jobs", "j-7", return_state=True).name

    assert failing() == "Failed"
    (row,) = ledger_rows(conn)
    assert (row["asset"], row["partition_key"], row["status"], row["attempts"]) == (
        "normalized_jobs", "j-7", "failed", 2)
    assert (row["prompt_tokens"], row["completion_tokens"], row["cached_tokens"]) == (
        1200, 80, 1024)
    assert row["cost_usd"] == MINI.cost(1200, 80, 1024)
    assert "NormalizationError: cannot normalize candidate j-7" in row["error"]


def test_budget_stops_before_the_call_that_would_pass_it(
    conn: psycopg.Connection, server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from talentflow.costs import tokens

    texts = sample_texts(4, offset=40)
    keys = list(texts)
    # Room for ~1.2 calls: the first batch's first call fits, its second does not; the
    # second batch sees the first one's spending in the ledger and calls nothing.
    per_call = MINI.cost(tokens.prompt_tokens(texts[keys[0]], "candidate")
                         + tokens.schema_tokens(), 200)
    monkeypatch.setenv("TALENTFLOW_BUDGET_RUN_USD", str(round(per_call * 6 / 5, 6)))
    llm = openai_llm(server)
    out = run_batches([{"texts": {k: texts[k] for k in keys[:2]}, "llm": llm},
                       {"texts": {k: texts[k] for k in keys[2:]}, "llm": llm}])
    assert out["states"] == ["Completed", "Completed"]
    first, second = out["results"]
    assert list(first["profiles"]) == [keys[0]]
    assert list(first["errors"]) == [keys[1]] and sorted(second["errors"]) == sorted(keys[2:])
    assert not second["profiles"]
    message = first["errors"][keys[1]]
    assert message.startswith("budget exceeded: the run budget is $")
    assert "TALENTFLOW_BUDGET_RUN_USD" in message and "Stopped before calling the LLM" in message
    assert f"{keys[1]!r}" in message
    assert "this flow run has $0.000" in second["errors"][keys[2]]
    # Exactly one call reached the server, and it is in the ledger.
    assert len(server.chat_requests) == 1
    (row,) = ledger_rows(conn)
    assert row["partition_key"] == keys[0] and row["flow_run_id"] == out["flow_run_id"]


def test_the_run_artifact_is_published(conn: psycopg.Connection, server: OpenAIServer) -> None:
    from prefect import flow
    from prefect.client.orchestration import get_client

    from tasks.cost_hook import ARTIFACT_KEY, publish_cost_artifact

    out = run_batches([{"texts": sample_texts(1, offset=50), "llm": openai_llm(server)}])

    @flow
    def publish(run_id: str) -> str | None:
        artifact = publish_cost_artifact(run_id)
        return str(artifact) if artifact else None

    artifact_id = publish(out["flow_run_id"])
    assert artifact_id
    with get_client(sync_client=True) as client:
        artifact = client.read_artifacts()
    mine = [a for a in artifact if str(a.id) == artifact_id]
    assert mine and mine[0].key == ARTIFACT_KEY
    assert "# LLM costs: $" in mine[0].data and "openai/gpt-4o-mini" in mine[0].data
