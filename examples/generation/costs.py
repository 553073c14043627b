"""Every generation call in the cost ledger (`llm_calls`), per stage (asset) and partition key.

A batch writes its rows in one INSERT as soon as its calls are done, before the engine records
the partitions, so a billed call is in the ledger even if the run dies right after. Answered
calls are priced from the price table (data/llm_prices.csv) on their UTC date; an answer that
could not be used (cut off, refused, scores that do not parse) is billed all the same and
recorded `failed` with its error. Offline calls cost nothing, by definition rather than by a
price row: they are recorded at $0 under provider `offline`, model `offline-v1`, so they never
count as history of a real model when estimating. A key served from the engine's cache made no
call and records nothing.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg

from talentflow.costs import ledger
from talentflow.costs import prices as price_table
from talentflow.costs.ledger import LLMCall
from talentflow.llm.completion import OFFLINE_VERSION, Usage


def ledger_model(provider: str, model: str) -> str:
    """The model a call is recorded under: the key's model, or the offline generator."""
    return OFFLINE_VERSION if provider == "offline" else model


def _task_run_id() -> str | None:
    from prefect.context import TaskRunContext

    ctx = TaskRunContext.get()
    return str(ctx.task_run.id) if ctx is not None else None


class CallLog:
    """The ledger rows of one batch of one stage, priced as they are added, written once."""

    def __init__(self, asset: str, flow_run_id: str | None) -> None:
        self.asset, self.flow_run_id = asset, flow_run_id
        self.task_run_id = _task_run_id()
        self.prices = price_table.load()
        self.calls: list[LLMCall] = []

    def add(self, key: str, *, provider: str, model: str, usage: Usage, called_at: datetime,
            latency_s: float | None, attempts: int, error: str | None = None
            ) -> Decimal | None:
        """Record one call; returns its cost (None: the model has no price)."""
        fields: dict[str, Any] = dict(
            provider=provider, model=ledger_model(provider, model),
            prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
            cached_tokens=usage.cached_tokens, called_at=called_at, asset=self.asset,
            partition_key=key, flow_run_id=self.flow_run_id, task_run_id=self.task_run_id,
            latency_s=latency_s, attempts=attempts, status="failed" if error else "ok",
            error=error)
        if provider == "offline":
            call = LLMCall(cost_usd=Decimal(0), **fields)
        else:
            call = ledger.priced_call(self.prices, **fields)
        self.calls.append(call)
        return call.cost_usd

    def write(self, conn: psycopg.Connection) -> int:
        """Insert and commit the rows (a billed call must survive a later failure)."""
        if not self.calls:
            return 0
        n = ledger.record_calls(conn, self.calls)
        conn.commit()
        self.calls = []
        return n
