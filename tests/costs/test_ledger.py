"""The ledger and its reports on synthetic rows: idempotent writes, groupings, unpriced
flags, re-pricing, and the sums the budget guard reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg

from talentflow.costs import ledger, prices, reports
from tests.costs.conftest import markdown_rows

NOW = datetime.now(UTC)


def _call(key: str, *, model: str = "gpt-4o-mini", run: str = "run-1", task: str = "t-1",
          when: datetime = NOW, tokens: tuple[int, int, int] = (1000, 100, 0),
          status: str = "ok", asset: str = "normalized_candidates") -> ledger.LLMCall:
    p, c, k = tokens
    return ledger.priced_call(prices.load(), provider="openai", model=model, prompt_tokens=p,
                              completion_tokens=c, cached_tokens=k, called_at=when,
                              asset=asset, partition_key=key, flow_run_id=run,
                              task_run_id=task, latency_s=0.5, attempts=1, status=status,
                              error="bad answer" if status == "failed" else None)


def test_a_batch_is_written_once(conn: psycopg.Connection) -> None:
    calls = [_call("c-1"), _call("c-2", status="failed")]
    assert ledger.record_calls(conn, calls) == 2
    assert ledger.record_calls(conn, calls) == 0  # the hook firing twice adds nothing
    assert ledger.record_calls(conn, []) == 0
    assert conn.execute("SELECT count(*) FROM llm_calls").fetchone()[0] == 2


def test_reports_group_flag_unpriced_and_rank_partitions(conn: psycopg.Connection) -> None:
    ledger.record_calls(conn, [
        _call("c-1", tokens=(1000, 100, 0)),
        _call("c-2", tokens=(3000, 300, 1000), task="t-2"),
        _call("c-3", model="llama3", task="t-3"),
        _call("j-1", model="gpt-4.1", run="run-2", task="t-4", asset="normalized_jobs",
              when=NOW - timedelta(days=1)),
    ])
    by_model = {r.group: r for r in reports.costs_by(conn, "model")}
    assert by_model[("openai", "llama3")].unpriced_calls == 1
    assert by_model[("openai", "llama3")].cost_usd == 0
    mini = by_model[("openai", "gpt-4o-mini")]
    assert (mini.calls, mini.prompt_tokens, mini.cached_tokens) == (2, 4000, 1000)
    assert mini.cost_usd == Decimal("0.000210") + Decimal("0.000555")

    assert [r.group[0] for r in reports.costs_by(conn, "day")] == [
        NOW.date().isoformat(), (NOW - timedelta(days=1)).date().isoformat()]
    assert {r.group for r in reports.costs_by(conn, "run")} == {("run-1",), ("run-2",)}
    top = reports.top_partitions(conn, 2)
    assert [r.group for r in top] == [("normalized_jobs", "j-1"),
                                      ("normalized_candidates", "c-2")]

    table = reports.format_table(reports.costs_by(conn, "asset"), "asset")
    assert "+?" in table and "UNPRICED: 1 call(s) of llama3" in table
    summary = reports.run_summary(conn, "run-1")
    assert summary.startswith("LLM cost of flow run run-1: at least $0.000765 for 3 call(s)")
    assert "openai/llama3: 1 call(s), unpriced" in summary
    markdown = reports.run_summary_markdown(conn, "run-1")
    assert markdown.startswith("# LLM costs: at least $0.000765")
    rows = markdown_rows(markdown)
    assert rows["openai/gpt-4o-mini"][0] == "2" and rows["normalized_candidates"][0] == "3"


def test_reprice_fills_in_models_that_got_a_price(conn: psycopg.Connection,
                                                  tmp_path: Path) -> None:
    ledger.record_calls(conn, [_call("c-1", model="llama3"), _call("c-2", task="t-2")])
    path = tmp_path / "prices.csv"
    path.write_text(",".join(prices.COLUMNS) + "\nllama3,0.05,0.10,0.05,2020-01-01\n")
    assert ledger.reprice(conn, prices.load(path)) == 1
    costs = dict(conn.execute("SELECT partition_key, cost_usd FROM llm_calls").fetchall())
    assert costs["c-1"] == Decimal("0.00006")  # 1000 x 0.05 + 100 x 0.10, per million
    assert costs["c-2"] == Decimal("0.000210")  # untouched


def test_spent_sums_this_run_and_today(conn: psycopg.Connection) -> None:
    ledger.record_calls(conn, [
        _call("c-1"),
        _call("c-2", run="other", task="t-2"),
        _call("c-3", task="t-3", when=NOW - timedelta(days=2)),  # this run, but not today
        _call("c-4", model="llama3", task="t-4"),  # unpriced: unknown, not counted
    ])
    spent = ledger.spent(conn, "run-1", NOW)
    assert spent.run_usd == Decimal("0.000420")
    assert spent.day_usd == Decimal("0.000420")
    assert ledger.spent(conn, None, NOW).run_usd == 0
    assert ledger.history(conn, "gpt-4o-mini", "normalized_candidates", limit=2) == [
        (1000, 100, 0), (1000, 100, 0)]
