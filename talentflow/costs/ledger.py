"""The `llm_calls` ledger: one row per LLM call, written in one round trip per batch.

Rows hold tokens exactly as the provider reported them and the cost computed at write time
with the price in effect on the call's date (NULL when the model is unpriced). The same
(task run, partition key) is recorded once: writing a batch again is a no-op, so a hook that
fires twice cannot double-count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal

import psycopg

from talentflow.costs.prices import PriceTable

Status = Literal["ok", "failed"]
ERROR_LIMIT = 4000  # enough to read a failure, never megabytes of a bad answer


@dataclass(frozen=True)
class LLMCall:
    provider: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cost_usd: Decimal | None  # None: the model has no price ("unpriced")
    asset: str
    partition_key: str | None
    called_at: datetime
    flow_run_id: str | None = None
    task_run_id: str | None = None
    latency_s: float | None = None
    attempts: int | None = None
    status: Status = "ok"
    error: str | None = None


def priced_call(prices: PriceTable, *, provider: str, model: str, prompt_tokens: int,
                completion_tokens: int, cached_tokens: int, called_at: datetime,
                **fields: object) -> LLMCall:
    """An `LLMCall` whose cost is priced from `prices` on the call's UTC date."""
    cost = prices.cost(model, utc_date(called_at), prompt_tokens, completion_tokens,
                       cached_tokens)
    return LLMCall(provider=provider, model=model, prompt_tokens=prompt_tokens,
                   completion_tokens=completion_tokens, cached_tokens=cached_tokens,
                   cost_usd=cost, called_at=called_at, **fields)  # type: ignore[arg-type]


def utc_date(moment: datetime) -> date:
    if moment.tzinfo is None:  # a naive time from our own code is UTC by convention
        return moment.date()
    return moment.astimezone(UTC).date()


_INSERT = """
INSERT INTO llm_calls (provider, model, prompt_tokens, completion_tokens, cached_tokens,
                       cost_usd, asset, partition_key, flow_run_id, task_run_id, called_at,
                       latency_s, attempts, status, error)
SELECT * FROM unnest(%s::text[], %s::text[], %s::int[], %s::int[], %s::int[], %s::numeric[],
                     %s::text[], %s::text[], %s::text[], %s::text[], %s::timestamptz[],
                     %s::float8[], %s::int[], %s::text[], %s::text[])
ON CONFLICT (task_run_id, partition_key) WHERE task_run_id IS NOT NULL DO NOTHING
"""


def record_calls(conn: psycopg.Connection, calls: Sequence[LLMCall]) -> int:
    """Insert the calls in one statement; returns how many were new."""
    if not calls:
        return 0
    columns = (
        [c.provider for c in calls], [c.model for c in calls],
        [c.prompt_tokens for c in calls], [c.completion_tokens for c in calls],
        [c.cached_tokens for c in calls], [c.cost_usd for c in calls],
        [c.asset for c in calls], [c.partition_key for c in calls],
        [c.flow_run_id for c in calls], [c.task_run_id for c in calls],
        [c.called_at for c in calls], [c.latency_s for c in calls],
        [c.attempts for c in calls], [c.status for c in calls],
        [c.error[:ERROR_LIMIT] if c.error else None for c in calls],
    )
    cur = conn.execute(_INSERT, columns)
    return cur.rowcount


@dataclass(frozen=True)
class Spent:
    """What has been spent, in USD, of priced calls: in one flow run, and since UTC midnight."""

    run_usd: Decimal
    day_usd: Decimal


def spent(conn: psycopg.Connection, flow_run_id: str | None, now: datetime | None = None
          ) -> Spent:
    """One query for both sums the budget guard checks."""
    now = now or datetime.now(UTC)
    midnight = datetime.combine(utc_date(now), datetime.min.time(), tzinfo=UTC)
    run_usd, day_usd = conn.execute(
        "SELECT coalesce(sum(cost_usd) FILTER (WHERE flow_run_id = %(run)s), 0),"
        "       coalesce(sum(cost_usd) FILTER (WHERE called_at >= %(midnight)s), 0)"
        "  FROM llm_calls WHERE flow_run_id = %(run)s OR called_at >= %(midnight)s",
        {"run": flow_run_id, "midnight": midnight},
    ).fetchone()
    return Spent(Decimal(run_usd), Decimal(day_usd))


def history(conn: psycopg.Connection, model: str, asset: str | None, limit: int = 1000
            ) -> list[tuple[int, int, int]]:
    """(prompt, completion, cached) tokens of the latest answered calls of `model` (for one
    asset, or any asset when `asset` is None): what estimates learn completion sizes from.
    Failed calls are left out: a cut-off or refused answer says little about a normal one."""
    where = "model = %(model)s AND status = 'ok' AND prompt_tokens > 0"
    if asset is not None:
        where += " AND asset = %(asset)s"
    rows = conn.execute(
        f"SELECT prompt_tokens, completion_tokens, cached_tokens FROM llm_calls WHERE {where} "
        "ORDER BY id DESC LIMIT %(limit)s",
        {"model": model, "asset": asset, "limit": limit},
    ).fetchall()
    return [(int(p), int(c), int(k)) for p, c, k in rows]


def reprice(conn: psycopg.Connection, prices: PriceTable) -> int:
    """Price the unpriced rows whose model now has a price (after a row was added to the
    table); returns how many were priced. Priced rows are never touched."""
    rows = conn.execute(
        "SELECT id, model, called_at, prompt_tokens, completion_tokens, cached_tokens "
        "FROM llm_calls WHERE cost_usd IS NULL"
    ).fetchall()
    ids, costs = [], []
    for row_id, model, called_at, p, c, k in rows:
        cost = prices.cost(model, utc_date(called_at), p, c, k)
        if cost is not None:
            ids.append(row_id)
            costs.append(cost)
    if ids:
        conn.execute(
            "UPDATE llm_calls SET cost_usd = v.cost FROM unnest(%s::bigint[], %s::numeric[]) "
            "AS v(id, cost) WHERE llm_calls.id = v.id",
            [ids, costs],
        )
    return len(ids)
