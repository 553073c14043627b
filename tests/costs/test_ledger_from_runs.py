"""The LLM cost ledger as real runs write it: the `normalized_candidates` asset on the engine
(`materialize`, a real Prefect flow run on the ephemeral API), over rows inserted into
`candidates`, with the real openai SDK talking HTTP to the local test server. Ledger rows are
exactly what the server billed; work the engine does not do (up-to-date keys, keys served from
the per-partition cache, keys a budget stops) costs no request and no row."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import psycopg
import pytest

from talentflow.costs import prices, reports
from tests.costs.conftest import (
    ASSET,
    CACHED_TOKENS,
    MAX_ATTEMPTS,
    insert_candidates,
    ledger_rows,
    markdown_rows,
    normalize,
    requested_keys,
    sample_rows,
    server_errors,
    text_of,
    use_openai,
    use_rules,
)
from tests.support.openai_server import OpenAIServer, malformed, status

MINI = prices.load().lookup("gpt-4o-mini", datetime.now(UTC).date())


def _expected_cost(usage: dict) -> Decimal:
    cached = usage["prompt_tokens_details"]["cached_tokens"]
    # Cached tokens at the cached rate, the rest of the prompt at the input rate.
    return (Decimal(usage["prompt_tokens"] - cached) * MINI.input_usd_per_mtok
            + Decimal(cached) * MINI.cached_input_usd_per_mtok
            + Decimal(usage["completion_tokens"]) * MINI.output_usd_per_mtok) / 1_000_000


def _task_run(task_run_id: str):  # noqa: ANN202 - a Prefect TaskRun
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_task_run(UUID(task_run_id))


def test_rows_match_the_reported_usage_and_skipped_or_cached_keys_record_nothing(
    conn: psycopg.Connection, server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_openai(monkeypatch, server)
    rows = sample_rows(3)
    texts = {k: text_of(r) for k, r in rows.items()}
    keys = insert_candidates(conn, rows)

    first = normalize(keys)
    done = first.assets[ASSET]
    assert done.ran == keys and not (done.cached or done.failed or done.blocked), done
    assert first.flow_run_id
    assert requested_keys(server, texts) == keys  # one call per key, in selection order

    ledger = ledger_rows(conn)
    answers = [r.usage for r in server.responses]
    assert len(ledger) == len(answers) == 3
    for key, row, usage in zip(keys, ledger, answers, strict=True):
        cached = usage["prompt_tokens_details"]["cached_tokens"]
        assert cached == CACHED_TOKENS
        assert (row["partition_key"], row["prompt_tokens"], row["completion_tokens"],
                row["cached_tokens"]) == (key, usage["prompt_tokens"],
                                          usage["completion_tokens"], cached)
        assert row["cost_usd"] == _expected_cost(usage)
        assert (row["provider"], row["model"], row["asset"], row["status"]) == (
            "openai", "gpt-4o-mini", ASSET, "ok")
        assert row["flow_run_id"] == first.flow_run_id and row["task_run_id"]
        assert row["latency_s"] > 0 and row["attempts"] == 1 and row["error"] is None
        assert abs((datetime.now(UTC) - row["called_at"]).total_seconds()) < 300
    # One batch = one Prefect task run, and it is a task run of this flow run.
    (task_run_id,) = {r["task_run_id"] for r in ledger}
    task_run = _task_run(task_run_id)
    assert str(task_run.flow_run_id) == first.flow_run_id
    assert task_run.name.startswith(f"{ASSET}[")

    summary = reports.run_summary(conn, first.flow_run_id)
    total = sum((r["cost_usd"] for r in ledger), Decimal(0))
    assert f"${total:,.6f}" in summary and "3 call(s) (0 failed)" in summary

    # The same rows again: the engine plans from status and finds nothing to do, whether
    # it returns before starting a flow run (the default) or runs one anyway.
    again = normalize(keys)
    assert again.flow_run_id is None and not again.did_work
    forced = normalize(keys, skip_if_up_to_date=False)
    assert forced.flow_run_id and not forced.did_work
    assert forced.assets[ASSET].up_to_date == 3
    assert len(server.requests) == 3 and len(ledger_rows(conn)) == 3
    assert "no LLM calls" in reports.run_summary(conn, forced.flow_run_id)

    # An edited row is normalized again: one request, one row, in that run.
    key = keys[1]
    original = rows[key]["cv_text"]
    edited_text = original + "\nAlso: Rust, Terraform."
    conn.execute("UPDATE candidates SET cv_text = %s WHERE id = %s", [edited_text, key])
    edited = normalize(keys)
    assert edited.assets[ASSET].ran == [key] and edited.assets[ASSET].up_to_date == 2
    edited_doc = {key: text_of({**rows[key], "cv_text": edited_text})}
    assert requested_keys(server, texts, edited_doc) == [*keys, key]
    fourth = ledger_rows(conn)[3:]
    assert [(r["partition_key"], r["flow_run_id"]) for r in fourth] == [
        (key, edited.flow_run_id)]
    assert fourth[0]["cost_usd"] == _expected_cost(server.responses[3].usage)

    # The edit reverted: the row's data is what the first run normalized, so the engine
    # serves the key from its per-partition cache. The function never runs: no request,
    # no ledger row.
    conn.execute("UPDATE candidates SET cv_text = %s WHERE id = %s", [original, key])
    reverted = normalize(keys)
    assert reverted.flow_run_id
    assert reverted.assets[ASSET].cached == [key] and not reverted.assets[ASSET].ran
    assert len(server.requests) == 4 and len(ledger_rows(conn)) == 4
    assert "no LLM calls" in reports.run_summary(conn, reverted.flow_run_id)


def test_failures_are_recorded_with_their_attempts_and_billed_tokens(
    conn: psycopg.Connection, server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_openai(monkeypatch, server)
    rows = sample_rows(3, offset=10)
    ok_key, bad_answer, server_error = rows
    texts = {k: text_of(r) for k, r in rows.items()}
    insert_candidates(conn, rows)
    # Served in call order (the selection's): for `bad_answer` an HTTP 500 (retried, not
    # billed) then prose instead of JSON (billed, not retried); for `server_error` an HTTP
    # 500 on every attempt (nothing billed); `ok_key` gets a normal answer.
    server.enqueue(status(500, retry_after="0"), malformed(), *server_errors())
    run = normalize([bad_answer, server_error, ok_key])

    done = run.assets[ASSET]
    assert sorted(done.failed) == sorted([bad_answer, server_error])
    assert done.ran == [ok_key] and not done.blocked  # batch-mates of failures succeed
    assert "model answer is not JSON" in done.failed[bad_answer]
    assert f"after {MAX_ATTEMPTS} attempt(s): gave up: HTTP 500" in done.failed[server_error]
    assert requested_keys(server, texts) == (
        [bad_answer] * 2 + [server_error] * MAX_ATTEMPTS + [ok_key])

    ledger = {r["partition_key"]: r for r in ledger_rows(conn)}
    assert sorted(ledger) == sorted([bad_answer, server_error, ok_key])
    unanswered = ledger[server_error]  # never answered: recorded, with nothing billed
    assert unanswered["status"] == "failed" and unanswered["attempts"] == MAX_ATTEMPTS
    assert (unanswered["prompt_tokens"], unanswered["completion_tokens"]) == (0, 0)
    assert unanswered["cost_usd"] == 0 and "HTTP 500" in unanswered["error"]
    billed = server.responses[1].usage  # the prose answer; the 500 before it billed nothing
    failed = ledger[bad_answer]
    assert failed["status"] == "failed" and failed["attempts"] == 2
    assert f"cannot normalize candidate {bad_answer}" in failed["error"]
    assert "after 2 attempt(s): model answer is not JSON" in failed["error"]
    assert (failed["prompt_tokens"], failed["completion_tokens"], failed["cached_tokens"]) == (
        billed["prompt_tokens"], billed["completion_tokens"], CACHED_TOKENS)
    assert failed["cost_usd"] == MINI.cost(billed["prompt_tokens"],
                                           billed["completion_tokens"], CACHED_TOKENS)
    assert ledger[ok_key]["status"] == "ok" and ledger[ok_key]["error"] is None
    assert ledger[ok_key]["cost_usd"] == _expected_cost(server.responses[-1].usage)
    assert {(r["flow_run_id"], r["task_run_id"]) for r in ledger.values()} == {
        (run.flow_run_id, ledger[ok_key]["task_run_id"])}
    assert "3 call(s) (2 failed)" in reports.run_summary(conn, run.flow_run_id)

    # The failed keys are retried for real next time (never from a cache) and billed again;
    # the key that succeeded is up to date and costs nothing.
    retry = normalize([bad_answer, server_error, ok_key])
    assert sorted(retry.assets[ASSET].ran) == sorted([bad_answer, server_error])
    assert retry.assets[ASSET].up_to_date == 1
    again = [r for r in ledger_rows(conn) if r["flow_run_id"] == retry.flow_run_id]
    assert sorted((r["partition_key"], r["status"]) for r in again) == sorted(
        [(bad_answer, "ok"), (server_error, "ok")])


def test_rules_calls_cost_zero_and_unknown_models_are_flagged_unpriced(
    conn: psycopg.Connection, server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    free_rows, local_rows = sample_rows(2, offset=20), sample_rows(1, offset=30)
    insert_candidates(conn, {**free_rows, **local_rows})

    # The LLM settings are resolved once per run: one run per provider.
    use_rules(monkeypatch)
    free = normalize(list(free_rows))
    assert free.assets[ASSET].ran == list(free_rows)
    assert not server.requests  # the rules provider is offline
    use_openai(monkeypatch, server, "my-local-llama")
    local = normalize(list(local_rows))
    assert local.assets[ASSET].ran == list(local_rows)
    assert len(server.chat_requests) == 1

    ledger = ledger_rows(conn)
    rules_rows = [r for r in ledger if r["provider"] == "rules"]
    assert sorted(r["partition_key"] for r in rules_rows) == sorted(free_rows)
    assert all(r["cost_usd"] == 0 and r["prompt_tokens"] == 0 and r["status"] == "ok"
               and r["flow_run_id"] == free.flow_run_id for r in rules_rows)
    (llama,) = [r for r in ledger if r["model"] == "my-local-llama"]
    assert llama["cost_usd"] is None and llama["prompt_tokens"] > 0  # unknown, not $0
    assert llama["prompt_tokens"] == server.responses[0].usage["prompt_tokens"]
    assert llama["flow_run_id"] == local.flow_run_id

    table = reports.format_table(reports.costs_by(conn, "model"), "model")
    assert "unpriced" in table and "UNPRICED: 1 call(s) of my-local-llama" in table
    assert "rules-v1" in table
    assert "$0.000000 for 2 call(s) (0 failed)" in reports.run_summary(conn, free.flow_run_id)
    summary = reports.run_summary(conn, local.flow_run_id)
    assert "at least $0.000000" in summary and "my-local-llama" in summary


def test_budget_stops_before_the_call_that_would_pass_it(
    conn: psycopg.Connection, server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from talentflow.costs import tokens
    from talentflow.costs.estimate import DEFAULT_COMPLETION_RATIO
    from tasks.assets import NORMALIZE_BATCH

    use_openai(monkeypatch, server)
    # Two batches: the first is full, the second holds the last two keys.
    rows = sample_rows(NORMALIZE_BATCH + 2, offset=40)
    texts = {k: text_of(r) for k, r in rows.items()}
    keys = insert_candidates(conn, rows)
    first_batch, second_batch = keys[:NORMALIZE_BATCH], keys[NORMALIZE_BATCH:]
    # Room for ~1.2 calls: the first batch's first call fits, its second does not; the
    # second batch sees the first one's spending in the ledger and calls nothing.
    prompt = tokens.prompt_tokens(texts[keys[0]], "candidate") + tokens.schema_tokens()
    per_call = MINI.cost(prompt, round(prompt * DEFAULT_COMPLETION_RATIO))
    monkeypatch.setenv("TALENTFLOW_BUDGET_RUN_USD", str(round(per_call * 6 / 5, 6)))

    run = normalize(keys)
    done = run.assets[ASSET]
    assert done.ran == [keys[0]] and not done.cached
    assert sorted(done.failed) == sorted(keys[1:])
    # Exactly one call reached the server, and it is in the ledger.
    assert requested_keys(server, texts) == [keys[0]]
    (row,) = ledger_rows(conn)
    assert row["partition_key"] == keys[0] and row["flow_run_id"] == run.flow_run_id
    spent = f"this flow run has ${row['cost_usd']:.6f} spent"

    for key in keys[1:]:
        message = done.failed[key]
        assert "budget exceeded: the run budget is $" in message
        assert "TALENTFLOW_BUDGET_RUN_USD" in message
        assert "Stopped before calling the LLM" in message and spent in message
    # Each batch stops at its first key that would pass the budget; the rest of the batch
    # fails with the same message, uncalled.
    assert all(f"{keys[1]!r}" in done.failed[k] for k in first_batch[1:])
    assert all(f"{second_batch[0]!r}" in done.failed[k] for k in second_batch)


def test_the_run_artifact_is_published(
    conn: psycopg.Connection, server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasks.costs import ARTIFACT_KEY

    use_openai(monkeypatch, server)
    keys = insert_candidates(conn, sample_rows(1, offset=50))
    run = normalize(keys)
    (row,) = ledger_rows(conn)

    data = _cost_artifact(run.flow_run_id, ARTIFACT_KEY)
    assert data.startswith(f"# LLM costs: ${row['cost_usd']:,.6f}")
    rows = markdown_rows(data)
    assert rows["openai/gpt-4o-mini"][:2] == ["1", "0"] and rows[ASSET][:2] == ["1", "0"]

    # A run with nothing to compute publishes one too, saying it made no call.
    idle = normalize(keys, skip_if_up_to_date=False)
    assert "No LLM calls in this flow run" in _cost_artifact(idle.flow_run_id, ARTIFACT_KEY)


def _cost_artifact(flow_run_id: str, key: str) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(flow_run_id)]),
            key=ArtifactFilterKey(any_=[key])))
    (artifact,) = found
    assert artifact.type == "markdown"
    return artifact.data
