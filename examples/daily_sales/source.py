"""The source asset over the external `sales` table (table.py): one partition per New York
day of `sold_at`."""

from __future__ import annotations

from examples.daily_sales.partitions import days
from examples.daily_sales.table import SALES_TABLE, TIME_COLUMN
from talentflow.engine.table_source import table_source

# Each day's rows, versioned by a hash PostgreSQL computes over them: a late or corrected sale
# makes exactly its day stale.
sales = table_source("sales", days, table=SALES_TABLE, time_column=TIME_COLUMN,
                     description="rows of the sales table per New York day of sold_at")
