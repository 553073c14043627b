"""Daily sales: a second definitions module on the talentflow engine.

    talentflow --definitions examples.daily_sales status
    python -m examples.daily_sales.demo

An external `sales` table, observed per New York day (source.py); each day's sale lines, their
totals per region and product, and a weekly rollup, as DataFrames (assets.py); checks that
block a bad day's downstream (checks.py); a flow for the latest complete day and a sensor for
late rows (flows.py); a deterministic generator of realistic sales (generator.py).
"""

from examples.daily_sales.definitions import defs

__all__ = ["defs"]
