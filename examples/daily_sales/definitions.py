"""The daily sales Definitions: what `talentflow --definitions examples.daily_sales ...`, the
flows and the demo load. It needs none of the talent project's tables: only the engine's and
the external `sales` table (source.py)."""

from __future__ import annotations

from examples.daily_sales.assets import ASSETS
from examples.daily_sales.checks import CHECKS
from examples.daily_sales.source import sales
from talentflow.engine import Definitions

defs = Definitions(assets=[sales, *ASSETS], checks=CHECKS, name="daily_sales")
