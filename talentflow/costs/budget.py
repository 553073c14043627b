"""Budgets per flow run and per UTC day, checked before every LLM call.

The guard adds what is already spent (the ledger's rows for this flow run / since UTC midnight,
read once per task run, plus the calls this task run made since, which its cost hook has not
recorded yet) to the estimated cost of the next call. If that would pass a budget, the call is
not made: `check()` raises `BudgetExceeded` with the numbers and the setting to change.

Limits of a guard that runs before each call, stated in docs/costs.md: the next call's cost is
an estimate, so a budget can be passed by the difference between one call's estimate and its
bill; batches running *concurrently* see each other's spending only once their hooks have
recorded it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import psycopg

from talentflow.costs import ledger, tokens
from talentflow.costs.estimate import EstimateSettings, Projection, projection
from talentflow.costs.prices import Price, PriceTable
from talentflow.llm.base import Kind, Usage
from talentflow.llm.prompts import DEFAULT_MAX_INPUT_CHARS

ENV_RUN_BUDGET = "TALENTFLOW_BUDGET_RUN_USD"
ENV_DAY_BUDGET = "TALENTFLOW_BUDGET_DAY_USD"


def _usd(name: str, raw: str) -> Decimal:
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"{name}={raw!r} is not an amount in USD (e.g. 5 or 0.25)") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"{name} must be an amount >= 0 in USD, not {raw!r}")
    return value


@dataclass(frozen=True)
class BudgetSettings:
    """USD limits; None means no limit. 0 allows no paid call at all."""

    run_usd: Decimal | None = None
    day_usd: Decimal | None = None

    @property
    def enabled(self) -> bool:
        return self.run_usd is not None or self.day_usd is not None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BudgetSettings:
        """From TALENTFLOW_BUDGET_RUN_USD and TALENTFLOW_BUDGET_DAY_USD (empty = no limit)."""
        env = os.environ if env is None else env
        run, day = ((env.get(name) or "").strip() for name in (ENV_RUN_BUDGET, ENV_DAY_BUDGET))
        return cls(run_usd=_usd(ENV_RUN_BUDGET, run) if run else None,
                   day_usd=_usd(ENV_DAY_BUDGET, day) if day else None)


class BudgetStop(Exception):
    """A budget stopped an LLM call before it was made (nothing was spent on it)."""


class BudgetExceeded(BudgetStop):
    def __init__(self, *, scope: str, limit_usd: Decimal, spent_usd: Decimal,
                 next_call_usd: Decimal, asset: str, key: str, model: str,
                 prompt_tokens: int) -> None:
        self.scope = scope
        self.limit_usd = limit_usd
        self.spent_usd = spent_usd
        self.next_call_usd = next_call_usd
        self.key = key
        setting, spender = ((ENV_RUN_BUDGET, "this flow run has") if scope == "run"
                            else (ENV_DAY_BUDGET, "today (UTC) the ledger shows"))
        super().__init__(
            f"budget exceeded: the {scope} budget is ${limit_usd:.4f} ({setting}); {spender} "
            f"${spent_usd:.6f} spent and the next call ({asset} {key!r}, {model}, "
            f"~{prompt_tokens:,} prompt tokens) would cost about ${next_call_usd:.6f}. "
            f"Stopped before calling the LLM; raise {setting} or run fewer keys."
        )


class UnpricedUnderBudget(BudgetStop):
    def __init__(self, model: str) -> None:
        self.model = model
        super().__init__(
            f"budget cannot be enforced: model {model!r} has no price in the price table, so "
            f"its calls cost an unknown amount. Add a row for it to data/llm_prices.csv (0 for "
            f"a free local model), or unset {ENV_RUN_BUDGET} / {ENV_DAY_BUDGET}."
        )


Connect = Callable[[], AbstractContextManager[psycopg.Connection]]


class BudgetGuard:
    """The budget check of one task run. Inactive (every method a no-op) when no budget is
    configured or the provider is the free offline one: no query, no token counting."""

    def __init__(self, budget: BudgetSettings, *, provider: str, model: str, asset: str,
                 flow_run_id: str | None, connect: Connect, prices: PriceTable,
                 settings: EstimateSettings | None = None,
                 max_chars: int = DEFAULT_MAX_INPUT_CHARS,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.budget = budget
        self.active = budget.enabled and provider != "rules"
        self.model = model
        self.asset = asset
        self.flow_run_id = flow_run_id
        self._connect = connect
        self._prices = prices
        self._settings = settings or EstimateSettings()
        self._max_chars = max_chars
        self._clock = clock
        self._loaded = False
        self._price: Price | None = None
        self._projection: Projection | None = None
        self._recorded = ledger.Spent(Decimal(0), Decimal(0))
        self._here = Decimal(0)  # calls of this task run, not in the ledger yet

    def _load(self) -> None:
        if self._loaded:
            return
        now = self._clock()
        self._price = self._prices.lookup(self.model, ledger.utc_date(now))
        with self._connect() as conn:
            self._recorded = ledger.spent(conn, self.flow_run_id, now)
            self._projection = projection(conn, self.model, self.asset, self._settings)
        self._loaded = True

    def next_call_usd(self, text: str, kind: Kind) -> tuple[Decimal, int]:
        """Estimated cost and billed prompt tokens of normalizing `text` now."""
        self._load()
        if self._price is None:
            raise UnpricedUnderBudget(self.model)
        prompt = tokens.prompt_tokens(text, kind, self._max_chars)
        if self._settings.include_schema:
            prompt += tokens.schema_tokens()
        assert self._projection is not None
        return self._projection.expected_usd(self._price, prompt), prompt

    def check(self, key: str, text: str, kind: Kind) -> None:
        """Raise a `BudgetStop` if calling the LLM for `key` would pass a budget."""
        if not self.active:
            return
        next_usd, prompt = self.next_call_usd(text, kind)
        for scope, limit, recorded in (("run", self.budget.run_usd, self._recorded.run_usd),
                                       ("day", self.budget.day_usd, self._recorded.day_usd)):
            spent = recorded + self._here
            if limit is not None and spent + next_usd > limit:
                raise BudgetExceeded(scope=scope, limit_usd=limit, spent_usd=spent,
                                     next_call_usd=next_usd, asset=self.asset, key=key,
                                     model=self.model, prompt_tokens=prompt)

    def spend(self, usage: Usage) -> None:
        """Count a call just made (answered or failed, as billed) against the budgets."""
        if not self.active or not self._loaded or self._price is None:
            return
        self._here += self._price.cost(usage.prompt_tokens, usage.completion_tokens,
                                       usage.cached_tokens)
