"""Daily sales: a second definitions module on the talentflow engine.

    talentflow --definitions examples.daily_sales status
    python -m examples.daily_sales.demo

An external `sales` table (table.py), observed per New York day (source.py); each day's sale
lines, their totals per region and product, and a weekly rollup, as DataFrames (assets.py);
checks that block a bad day's downstream (checks.py); a flow for the latest complete day and a
sensor for late rows (flows.py); a deterministic generator of realistic sales (generator.py).
"""

from __future__ import annotations

from typing import Any

__all__ = ["defs"]


def __getattr__(name: str) -> Any:
    # `defs` is loaded on first use, not when the package is: the generator and the demo must
    # run before anything imports prefect (its settings are read then).
    if name == "defs":
        from examples.daily_sales.definitions import defs

        return defs
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
