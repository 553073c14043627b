"""Asset checks of the daily sales: what must hold for a day (or week) before anything
downstream reads it. Blocking ones stop that key's downstream; the store coverage one warns."""

from __future__ import annotations

import math

import pandas as pd

from examples.daily_sales.assets import sales_data, sales_summary, weekly_sales
from examples.daily_sales.catalogue import STORE_IDS
from talentflow.engine import CheckResult, Severity, asset_check

# Revenue is summed in floating point in a different order on each side: a cent is a real
# difference, 1e-9 of a dollar is not.
CENT = 0.01
SHOWN = 10  # sale ids listed in a failure's metadata


@asset_check(asset=sales_data, blocking=True)
def no_negative_amounts(sales_data: pd.DataFrame) -> CheckResult:
    """No sale line has a negative amount (refunds come through the returns feed, never as a
    negative sale: one here is a keying error)."""
    bad = sales_data[sales_data["amount"] < 0]
    return CheckResult(
        bad.empty,
        description=f"{len(bad)} sale line(s) with a negative amount" if len(bad) else "",
        metadata={"negative_lines": len(bad),
                  "sale_ids": [int(i) for i in bad["sale_id"].head(SHOWN)],
                  "negative_total": round(float(bad["amount"].sum()), 2)})


@asset_check(asset=sales_data, blocking=True)
def has_sales(sales_data: pd.DataFrame) -> CheckResult:
    """The day has at least one sale line left after voided lines are dropped."""
    return CheckResult(len(sales_data) > 0, metadata={"rows": len(sales_data)},
                       description="" if len(sales_data) else "no sale lines")


@asset_check(asset=sales_data)
def every_store_reported(sales_data: pd.DataFrame) -> CheckResult:
    """Every store of the catalogue sold something that day: a silent one is usually a till
    that did not upload yet (a warning: the day's other stores are still right)."""
    silent = sorted(STORE_IDS - set(sales_data["store_id"]))
    return CheckResult(not silent, Severity.WARN,
                       description=f"no sales from {', '.join(silent)}" if silent else "",
                       metadata={"silent_stores": silent})


def _line_totals(lines: pd.DataFrame) -> dict[str, float]:
    """Totals of sale lines (sales_data)."""
    return {"orders": len(lines), "units": int(lines["quantity"].sum()),
            "revenue": float(lines["amount"].sum())}


def _rollup_totals(frame: pd.DataFrame) -> dict[str, float]:
    """Totals of a frame of orders / units / revenue columns (summaries, weeks)."""
    return {"orders": int(frame["orders"].sum()), "units": int(frame["units"].sum()),
            "revenue": float(frame["revenue"].sum())}


def _compare(mine: dict[str, float], theirs: dict[str, float], what: str) -> CheckResult:
    off = {k: (mine[k], theirs[k]) for k in mine
           if not math.isclose(mine[k], theirs[k], rel_tol=0, abs_tol=CENT / 2)}
    return CheckResult(not off,
                       description="; ".join(f"{k} {a} != {b} in {what}"
                                             for k, (a, b) in off.items()),
                       metadata={k: round(v, 2) for k, v in mine.items()})


@asset_check(asset=sales_summary, blocking=True)
def totals_reconcile(sales_summary: pd.DataFrame, sales_data: pd.DataFrame) -> CheckResult:
    """The summary's lines, units and revenue add up to those of the sale lines it read."""
    return _compare(_rollup_totals(sales_summary), _line_totals(sales_data), "the sale lines")


@asset_check(asset=weekly_sales, blocking=True)
def week_adds_up(weekly_sales: pd.DataFrame, sales_summary: dict[str, pd.DataFrame]
                 ) -> CheckResult:
    """The week's totals are the sum of the seven daily summaries it read."""
    days = pd.concat(list(sales_summary.values()), ignore_index=True)
    return _compare(_rollup_totals(weekly_sales), _rollup_totals(days), "the daily summaries")


CHECKS = [no_negative_amounts, has_sales, every_store_reported, totals_reconcile, week_adds_up]
