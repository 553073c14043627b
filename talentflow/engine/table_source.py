"""A source asset over an external table the pipeline does not own, one partition per window.

    sales = table_source("sales", days, table="shop.sales", time_column="sold_at")

Each time window's rows (time_column in [start, end)) are one partition. Its data version is
a hash of those rows, computed in PostgreSQL and independent of row order, so observing the
table (`talentflow status`, the reconcile loop) finds exactly the windows whose rows changed:
a late-arriving or corrected row for an old day makes that day, and its downstream, stale.
Downstream assets read a window's rows as a pandas DataFrame, versioned by the same hash.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
import psycopg
from psycopg import sql

from talentflow.partitions.assets import Asset, source_asset
from talentflow.partitions.sets import TimeWindowPartitions


def _identifier(dotted: str) -> sql.Identifier:
    return sql.Identifier(*dotted.split("."))


def _windows(partitions: TimeWindowPartitions, keys: Sequence[str]
             ) -> tuple[list[str], list[Any], list[Any]]:
    spans = [partitions.window(k) for k in keys]
    return list(keys), [s for s, _ in spans], [e for _, e in spans]


# The rows of each window, hashed as the md5 of their sorted row hashes (order-free).
_VERSIONS = sql.SQL("""
    SELECT w.key, md5(string_agg(md5(row_to_json(t)::text), ','
                                 ORDER BY md5(row_to_json(t)::text)))
    FROM unnest(%s::text[], %s::timestamptz[], %s::timestamptz[]) AS w(key, lo, hi)
    JOIN {table} t ON t.{column} >= w.lo AND t.{column} < w.hi
    GROUP BY w.key
""")


def window_versions(conn: psycopg.Connection, partitions: TimeWindowPartitions, table: str,
                    time_column: str, keys: Sequence[str]) -> dict[str, str]:
    """key -> data version of the windows that have rows."""
    query = _VERSIONS.format(table=_identifier(table), column=sql.Identifier(time_column))
    return dict(conn.execute(query, _windows(partitions, keys)).fetchall())


def window_rows(conn: psycopg.Connection, partitions: TimeWindowPartitions, table: str,
                time_column: str, keys: Sequence[str]) -> dict[str, pd.DataFrame]:
    """key -> the window's rows as a DataFrame, ordered by the time column, then by the whole
    row: rows with equal timestamps come back in the same order every time, so unchanged
    rows give an unchanged frame (and data version) downstream."""
    query = sql.SQL("""
        SELECT w.key, t.* FROM unnest(%s::text[], %s::timestamptz[], %s::timestamptz[])
            AS w(key, lo, hi)
        JOIN {table} t ON t.{column} >= w.lo AND t.{column} < w.hi
        ORDER BY w.key, t.{column}, row_to_json(t)::text
    """).format(table=_identifier(table), column=sql.Identifier(time_column))
    with conn.cursor() as cur:
        cur.execute(query, _windows(partitions, keys))
        columns = [d.name for d in cur.description][1:]
        rows = cur.fetchall()
    by_key: dict[str, list[tuple]] = {}
    for row in rows:
        by_key.setdefault(row[0], []).append(row[1:])
    return {k: pd.DataFrame.from_records(r, columns=columns) for k, r in by_key.items()}


def table_source(name: str, partitions: TimeWindowPartitions, *, table: str,
                 time_column: str, description: str = "") -> Asset:
    """A source asset whose partitions are the windows of `table` by `time_column`."""
    from talentflow.engine.context import Output

    def load_windows(ctx) -> dict[str, Output]:
        versions = window_versions(ctx.conn, partitions, table, time_column, ctx.keys)
        frames = window_rows(ctx.conn, partitions, table, time_column, ctx.keys)
        return {k: Output(frames[k], data_version=versions[k]) for k in frames}

    def observe_windows(conn: psycopg.Connection) -> Iterable[tuple[str, str]]:
        return window_versions(conn, partitions, table, time_column,
                               partitions.keys(conn)).items()

    load_windows.__qualname__ = f"load_{name}"
    return source_asset(name, partitions, fn=load_windows, observer=observe_windows,
                        description=description or f"rows of {table} per window of "
                                                   f"{time_column}; version = hash of the rows")
