"""The budget guard on its own: settings, the daily budget against the ledger, models it
cannot price, and staying out of the way when no budget is set."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest

from talentflow.costs import ledger, prices
from talentflow.costs.budget import (
    BudgetExceeded,
    BudgetGuard,
    BudgetSettings,
    UnpricedUnderBudget,
)
from talentflow.llm.base import Usage
from tests.costs.conftest import ASSET, sample_texts

TEXT = next(iter(sample_texts(1).values()))


def test_settings_from_the_environment() -> None:
    assert not BudgetSettings.from_env({}).enabled
    both = BudgetSettings.from_env({"TALENTFLOW_BUDGET_RUN_USD": "0.5",
                                    "TALENTFLOW_BUDGET_DAY_USD": " 20 "})
    assert (both.run_usd, both.day_usd) == (Decimal("0.5"), Decimal("20"))
    with pytest.raises(ValueError, match="TALENTFLOW_BUDGET_DAY_USD='five' is not an amount"):
        BudgetSettings.from_env({"TALENTFLOW_BUDGET_DAY_USD": "five"})
    with pytest.raises(ValueError, match="must be an amount >= 0"):
        BudgetSettings.from_env({"TALENTFLOW_BUDGET_RUN_USD": "-1"})


def _guard(db_url: str, budget: BudgetSettings, model: str = "gpt-4o-mini",
           provider: str = "openai") -> BudgetGuard:
    def connect() -> AbstractContextManager[psycopg.Connection]:
        return psycopg.connect(db_url, autocommit=True)

    return BudgetGuard(budget, provider=provider, model=model, asset=ASSET,
                       flow_run_id="this-run", connect=connect, prices=prices.load())


def test_the_day_budget_counts_every_run_of_today(db: str, conn: psycopg.Connection) -> None:
    earlier = ledger.priced_call(prices.load(), provider="openai", model="gpt-4o",
                                 prompt_tokens=100_000, completion_tokens=10_000,
                                 cached_tokens=0, called_at=datetime.now(UTC),
                                 asset=ASSET, partition_key="c-0", flow_run_id="another-run")
    ledger.record_calls(conn, [earlier])  # $0.35 spent today by another run
    guard = _guard(db, BudgetSettings(run_usd=Decimal(1), day_usd=Decimal("0.35")))
    with pytest.raises(BudgetExceeded) as stop:
        guard.check("c-1", TEXT, "candidate")
    assert stop.value.scope == "day" and stop.value.spent_usd == Decimal("0.35")
    assert "the day budget is $0.3500 (TALENTFLOW_BUDGET_DAY_USD)" in str(stop.value)
    assert "today (UTC) the ledger shows $0.350000 spent" in str(stop.value)

    roomy = _guard(db, BudgetSettings(run_usd=Decimal("0.001")))
    roomy.check("c-1", TEXT, "candidate")  # the run budget ignores other runs
    roomy.spend(Usage(1000, 1000, 0))  # $0.00075 spent by this task run, not in the ledger
    with pytest.raises(BudgetExceeded, match="this flow run has \\$0.000750 spent"):
        roomy.check("c-2", TEXT, "candidate")


def test_an_unpriced_model_cannot_run_under_a_budget(db: str) -> None:
    guard = _guard(db, BudgetSettings(run_usd=Decimal(5)), model="llama3")
    with pytest.raises(UnpricedUnderBudget, match="model 'llama3' has no price"):
        guard.check("c-1", TEXT, "candidate")


def test_no_budget_or_the_free_provider_costs_nothing_to_check() -> None:
    def never() -> AbstractContextManager[psycopg.Connection]:
        raise AssertionError("an inactive guard must not touch the database")

    for budget, provider in ((BudgetSettings(), "openai"),
                             (BudgetSettings(run_usd=Decimal(0)), "rules")):
        guard = BudgetGuard(budget, provider=provider, model="gpt-4o-mini", asset=ASSET,
                            flow_run_id=None, connect=never, prices=prices.load())
        guard.check("c-1", TEXT, "candidate")
        guard.spend(Usage(10, 10, 0))
