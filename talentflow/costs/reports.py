"""Cost reports from the ledger: totals by asset, model, day, run or partition, the most
expensive partitions, and one flow run's summary (for the demo and the run's artifact).

Unpriced calls (a model missing from the price table) are counted and named in every report;
their cost is unknown, so totals say "at least" rather than pretend they were free.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import psycopg

# How each report groups; SQL expressions over llm_calls. Days are UTC days.
GROUPS: dict[str, tuple[str, ...]] = {
    "asset": ("asset",),
    "model": ("provider", "model"),
    "day": ("to_char(called_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",),
    "run": ("coalesce(flow_run_id, '(no flow run)')",),
    "partition": ("asset", "coalesce(partition_key, '-')"),
}
_HEADERS = {"asset": ("asset",), "model": ("provider", "model"), "day": ("day (UTC)",),
            "run": ("flow run",), "partition": ("asset", "partition")}
PRICE_TABLE_HINT = ("add a row to data/llm_prices.csv (or $TALENTFLOW_PRICES_CSV), then "
                    "`talentflow costs reprice`")


@dataclass(frozen=True)
class CostRow:
    group: tuple[str, ...]
    calls: int
    failed: int
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cost_usd: Decimal  # priced calls only
    unpriced_calls: int
    unpriced_models: tuple[str, ...]
    first_call: datetime
    last_call: datetime


def costs_by(conn: psycopg.Connection, by: str, *, flow_run_id: str | None = None,
             limit: int | None = None) -> list[CostRow]:
    """One row per group. Days and runs come newest first; the rest most expensive first."""
    try:
        exprs = GROUPS[by]
    except KeyError:
        raise ValueError(f"cannot group costs by {by!r}; choose one of {sorted(GROUPS)}") from None
    cols = ", ".join(exprs)
    where = "WHERE flow_run_id = %(run)s" if flow_run_id is not None else ""
    order = ("max(called_at) DESC" if by in ("day", "run")
             else "coalesce(sum(cost_usd), 0) DESC, count(*) DESC")
    sql = f"""
        SELECT {cols}, count(*), count(*) FILTER (WHERE status = 'failed'),
               sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens),
               coalesce(sum(cost_usd), 0), count(*) FILTER (WHERE cost_usd IS NULL),
               coalesce(array_agg(DISTINCT model) FILTER (WHERE cost_usd IS NULL), '{{}}'),
               min(called_at), max(called_at)
          FROM llm_calls {where}
         GROUP BY {cols}
         ORDER BY {order}, {cols}
         {"LIMIT %(limit)s" if limit is not None else ""}
    """
    rows = conn.execute(sql, {"run": flow_run_id, "limit": limit}).fetchall()
    n = len(exprs)
    return [CostRow(tuple(str(v) for v in r[:n]), int(r[n]), int(r[n + 1]), int(r[n + 2]),
                    int(r[n + 3]), int(r[n + 4]), Decimal(r[n + 5]), int(r[n + 6]),
                    tuple(sorted(r[n + 7])), r[n + 8], r[n + 9]) for r in rows]


def top_partitions(conn: psycopg.Connection, n: int = 10) -> list[CostRow]:
    """The `n` most expensive (asset, partition key) pairs over all their calls."""
    return costs_by(conn, "partition", limit=n)


def usd(value: Decimal) -> str:
    # A call costs fractions of a cent: six decimals keep single calls readable.
    return f"${value:,.6f}"


def _cost_cell(row: CostRow) -> str:
    if row.unpriced_calls == row.calls:
        return "unpriced"
    return usd(row.cost_usd) + ("+?" if row.unpriced_calls else "")


def _unpriced_note(rows: list[CostRow]) -> str | None:
    calls = sum(r.unpriced_calls for r in rows)
    if not calls:
        return None
    models = sorted({m for r in rows for m in r.unpriced_models})
    return (f"UNPRICED: {calls} call(s) of {', '.join(models)} have no price, so their cost "
            f"is unknown and not in the totals (marked +? / unpriced); {PRICE_TABLE_HINT}")


def format_table(rows: list[CostRow], by: str) -> str:
    """A plain-text table of `costs_by` rows with a total line."""
    headers = (*_HEADERS[by], "calls", "failed", "prompt", "cached", "completion", "cost")
    body = [(*r.group, f"{r.calls:,}", f"{r.failed:,}", f"{r.prompt_tokens:,}",
             f"{r.cached_tokens:,}", f"{r.completion_tokens:,}", _cost_cell(r)) for r in rows]
    if not body:
        return "no LLM calls recorded yet"
    total = sum((r.cost_usd for r in rows), Decimal(0))
    unpriced = sum(r.unpriced_calls for r in rows)
    footer = (*([""] * (len(_HEADERS[by]) - 1)), "total", f"{sum(r.calls for r in rows):,}",
              f"{sum(r.failed for r in rows):,}", f"{sum(r.prompt_tokens for r in rows):,}",
              f"{sum(r.cached_tokens for r in rows):,}",
              f"{sum(r.completion_tokens for r in rows):,}",
              usd(total) + ("+?" if unpriced else ""))
    widths = [max(len(str(line[i])) for line in (headers, *body, footer))
              for i in range(len(headers))]
    n_text = len(_HEADERS[by])

    def fmt(line: tuple[str, ...]) -> str:
        return "  ".join(str(v).ljust(w) if i < n_text else str(v).rjust(w)
                         for i, (v, w) in enumerate(zip(line, widths, strict=True))).rstrip()

    out = [fmt(headers), *(fmt(line) for line in body), fmt(footer)]
    if note := _unpriced_note(rows):
        out.append(note)
    return "\n".join(out)


def run_summary(conn: psycopg.Connection, flow_run_id: str) -> str:
    """A few lines on what one flow run's LLM calls cost, per provider/model."""
    rows = costs_by(conn, "model", flow_run_id=flow_run_id)
    if not rows:
        return (f"LLM cost of flow run {flow_run_id}: $0 - no LLM calls (cache hits and "
                "up-to-date partitions cost nothing)")
    calls = sum(r.calls for r in rows)
    failed = sum(r.failed for r in rows)
    unpriced = sum(r.unpriced_calls for r in rows)
    total = sum((r.cost_usd for r in rows), Decimal(0))
    lines = [
        f"LLM cost of flow run {flow_run_id}: {'at least ' if unpriced else ''}{usd(total)} "
        f"for {calls:,} call(s) ({failed:,} failed): "
        f"{sum(r.prompt_tokens for r in rows):,} prompt tokens "
        f"({sum(r.cached_tokens for r in rows):,} cached), "
        f"{sum(r.completion_tokens for r in rows):,} completion tokens"
    ]
    for r in rows:
        lines.append(f"  {'/'.join(r.group)}: {r.calls:,} call(s), {_cost_cell(r)}")
    if note := _unpriced_note(rows):
        lines.append(f"  {note}")
    return "\n".join(lines)


def run_summary_markdown(conn: psycopg.Connection, flow_run_id: str) -> str:
    """The run's cost summary as markdown: per model and per asset (the Prefect artifact)."""
    by_model = costs_by(conn, "model", flow_run_id=flow_run_id)
    if not by_model:
        return ("# LLM costs\n\nNo LLM calls in this flow run: cache hits and up-to-date "
                "partitions cost nothing.\n")
    by_asset = costs_by(conn, "asset", flow_run_id=flow_run_id)
    total = sum((r.cost_usd for r in by_model), Decimal(0))
    unpriced = sum(r.unpriced_calls for r in by_model)
    out = [f"# LLM costs: {'at least ' if unpriced else ''}{usd(total)}", ""]
    for title, rows in (("model", by_model), ("asset", by_asset)):
        out += [f"| {title} | calls | failed | prompt | cached | completion | cost |",
                "|---|---:|---:|---:|---:|---:|---:|"]
        out += [f"| {'/'.join(r.group)} | {r.calls:,} | {r.failed:,} | {r.prompt_tokens:,} | "
                f"{r.cached_tokens:,} | {r.completion_tokens:,} | {_cost_cell(r)} |"
                for r in rows]
        out.append("")
    if note := _unpriced_note(by_model):
        out += [f"**{note}**", ""]
    return "\n".join(out)
