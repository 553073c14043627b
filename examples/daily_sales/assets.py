"""The daily sales assets: the day's sale lines, their totals per region and product, and a
weekly rollup per region. All three keep pandas DataFrames in tables of their own
(DataFrameStore), so each partition's row count, date range and preview are recorded."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from examples.daily_sales.partitions import TIMEZONE, days, weeks
from talentflow.engine import Dep, Eager, OnCron, TimeWindowOffset, asset
from talentflow.engine.frames import DataFrameStore

# The same hours as the `daily-sales` deployment: the reconcile loop is its durable backup.
DAILY_CRON = "0 1,13 * * *"


# cache=False: cheap and large, as the engine's docs put it. Recomputing a day (~2 ms) costs
# less than pickling its frame into Prefect's result storage, and the frame is stored anyway.
@asset(partitions=days, store=DataFrameStore(), automation=OnCron(DAILY_CRON, TIMEZONE),
       cache=False,
       description="the day's sale lines, typed, tidied and in time order; voided lines "
                   "(quantity 0) dropped")
def sales_data(sales: pd.DataFrame) -> pd.DataFrame:
    lines = pd.DataFrame({
        "sale_id": sales["id"].astype("int64"),
        # psycopg hands instants over in the session's zone: the shops' own, for people.
        "sold_at": pd.to_datetime(sales["sold_at"], utc=True).dt.tz_convert(TIMEZONE),
        "store_id": sales["store_id"].str.strip().str.upper(),
        "region": sales["region"].str.strip(),
        "product": sales["product"].str.strip().str.lower(),
        "quantity": sales["quantity"].astype("int64"),
        "unit_price": sales["unit_price"].astype("float64"),  # numeric arrives as Decimal
        "amount": sales["amount"].astype("float64"),
    })
    lines = lines[lines["quantity"] != 0]
    # The source hands rows over by sold_at alone; ties in any order. The id settles them, so
    # the same rows always make the same frame (and the same data version downstream).
    return lines.sort_values(["sold_at", "sale_id"], kind="stable").reset_index(drop=True)


@asset(partitions=days, store=DataFrameStore(), automation=Eager(),
       description="per region and product: sale lines, units and revenue of the day")
def sales_summary(key: str, sales_data: pd.DataFrame) -> pd.DataFrame:
    # One groupby, plain sums (named aggregations cost 3x here, 730 days at a time).
    by_item = sales_data.groupby(["region", "product"], sort=True)
    sums = by_item[["quantity", "amount"]].sum()
    totals = pd.DataFrame({"orders": by_item.size(), "units": sums["quantity"],
                           "revenue": sums["amount"]}).reset_index()
    totals.insert(0, "day", dt.date.fromisoformat(key))
    # The dtypes are the table's schema: an empty day must not turn a column into float.
    return totals.astype({"orders": "int64", "units": "int64", "revenue": "float64"})


@asset(partitions=weeks, store=DataFrameStore(), automation=Eager(),
       deps=[Dep(sales_summary, TimeWindowOffset(0))],
       description="per region: the week's sale lines, units, revenue and best day, from the "
                   "daily summaries of its seven days")
def weekly_sales(key: str, sales_summary: dict[str, pd.DataFrame]) -> pd.DataFrame:
    # TimeWindowOffset(0) from weeks onto days: {day key: that day's summary}, all seven.
    daily = pd.concat([sales_summary[k] for k in sorted(sales_summary)], ignore_index=True)
    by_region = daily.groupby("region", sort=True)
    week = by_region[["orders", "units", "revenue"]].sum()
    week.insert(0, "days", by_region["day"].nunique())
    per_day = daily.groupby(["region", "day"], sort=True)["revenue"].sum()
    week["best_day"] = [day for _, day in per_day.groupby(level="region").idxmax()]
    week = week.reset_index()
    week.insert(0, "week", dt.date.fromisoformat(key))
    return week.astype({"days": "int64", "orders": "int64", "units": "int64",
                        "revenue": "float64"})


ASSETS = [sales_data, sales_summary, weekly_sales]
