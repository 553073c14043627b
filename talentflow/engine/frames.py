"""Asset values as pandas DataFrames: one PostgreSQL table per asset, rows per partition key.

    from talentflow.engine.frames import DataFrameStore

    @asset(partitions=days, store=DataFrameStore())
    def events(key: str) -> pd.DataFrame: ...

    @asset(partitions=days)                      # reads its aligned partition as a DataFrame
    def totals(events: pd.DataFrame) -> dict: ...

Layout (created on first write, in the caller's transaction):

- `frame_<asset>`: `partition_key text COLLATE "C"`, `_tf_row` (the row's position: read
  returns rows in the order they were written) and the frame's columns, typed from their
  dtypes (int64 -> bigint, float64 -> double precision, bool -> boolean, datetime64 with a
  timezone -> timestamptz, naive -> timestamp, date objects -> date, strings -> text; NULL
  for missing values). The column set and types are the asset's schema: a frame that adds,
  drops or retypes a column is refused with a one-line error, never written half-way.
- `frame_versions(asset, partition_key, data_version, columns)`: each partition's data
  version and its columns' pandas dtypes in order, written in the same transaction as its
  rows, so a read returns a frame with its own dtypes and the version of exactly those rows.

Writing a partition replaces its rows (DELETE, then one COPY for the batch). The frame's index
is not stored (`reset_index()` first to keep it); read returns a RangeIndex. PostgreSQL keeps
microseconds: nanoseconds of a timestamp are dropped on write.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from pandas.api import types as pdt
from psycopg import sql

from talentflow.engine.stores import Stored, ValueStore

KEY_COLUMN = "partition_key"
ROW_COLUMN = "_tf_row"
VERSIONS_TABLE = "frame_versions"
MAX_IDENTIFIER = 63  # PostgreSQL truncates longer names silently: refuse them instead
PREVIEW_ROWS = 5


class FrameSchemaError(ValueError):
    """A frame that does not fit its asset's table (or cannot be stored at all)."""


def table_name(asset: str) -> str:
    """`frame_<asset>` when the asset name is a plain lowercase identifier; otherwise a
    sanitized prefix plus a hash of the name, so two names never share a table."""
    plain = asset.isascii() and asset.replace("_", "a").isalnum() and asset == asset.lower()
    name = f"frame_{asset}"
    if plain and len(name) <= MAX_IDENTIFIER and name != VERSIONS_TABLE:
        return name
    safe = "".join(c if c.isascii() and c.isalnum() else "_" for c in asset.lower())
    digest = hashlib.sha256(asset.encode("utf-8")).hexdigest()[:10]
    return f"frame_{safe[:40]}_{digest}"


# ------------------------------------------------------------------------------------------
# dtypes <-> PostgreSQL types (names as format_type() spells them, to compare with the table)

_INT_SQL = {1: "smallint", 2: "smallint", 4: "integer", 8: "bigint"}


def _sql_type(asset: str, name: str, col: pd.Series, existing: str | None) -> str | None:
    """The column type of a column; None for an all-missing object column with no type yet."""
    dtype = col.dtype
    if pdt.is_object_dtype(dtype):
        kind = pdt.infer_dtype(col, skipna=True)
        if kind == "string":
            return "text"
        if kind == "date":
            return "date"
        if kind == "empty":  # all missing: fits whatever the table already has
            return existing
        hint = " (convert with pd.to_datetime)" if kind in ("datetime", "datetime64") else ""
        raise FrameSchemaError(f"frame asset {asset!r}: column {name!r} holds {kind} objects, "
                               f"which have no column type{hint}")
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "timestamp with time zone"
    if pdt.is_datetime64_dtype(dtype):
        return "timestamp without time zone"
    if pdt.is_bool_dtype(dtype):
        return "boolean"
    if pdt.is_integer_dtype(dtype):
        size = dtype.itemsize * (2 if pdt.is_unsigned_integer_dtype(dtype) else 1)
        if size in _INT_SQL:
            return _INT_SQL[size]
    elif pdt.is_float_dtype(dtype):
        return "real" if dtype.itemsize == 4 else "double precision"
    elif pdt.is_string_dtype(dtype):
        return "text"
    raise FrameSchemaError(f"frame asset {asset!r}: column {name!r} has dtype {dtype}, "
                           "which has no column type")


def _check_frame(asset: str | None, df: Any) -> None:
    """A DataFrame whose column names can be column names of its table."""
    who = f"frame asset {asset!r}" if asset is not None else "DataFrameStore"
    if not isinstance(df, pd.DataFrame):
        raise FrameSchemaError(f"{who}: expected a pandas DataFrame, got {type(df).__name__}")
    names = list(df.columns)
    bad = [n for n in names if not isinstance(n, str) or not n
           or len(n.encode("utf-8")) > MAX_IDENTIFIER or n in (KEY_COLUMN, ROW_COLUMN)]
    if bad:
        raise FrameSchemaError(
            f"{who}: column names must be non-empty strings of at most "
            f"{MAX_IDENTIFIER} bytes other than {KEY_COLUMN!r}/{ROW_COLUMN!r}, got {bad}")
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise FrameSchemaError(f"{who}: duplicate columns {dup}")


def _columns(asset: str, df: pd.DataFrame, existing: Mapping[str, str]
             ) -> list[tuple[str, str, str]]:
    """[(name, sql type, pandas dtype)] of a frame, in its order."""
    return [(n, _sql_type(asset, n, df[n], existing.get(n)) or "text", str(df[n].dtype))
            for n in df.columns]


def _check_schema(asset: str, key: str, table: Mapping[str, str],
                  cols: Sequence[tuple[str, str, str]]) -> None:
    mine = {n: s for n, s, _ in cols}
    added = [n for n in mine if n not in table]
    removed = [n for n in table if n not in mine]
    retyped = [f"{n}: {table[n]} -> {s}" for n, s in mine.items() if n in table and table[n] != s]
    if added or removed or retyped:
        parts = [f"{label} {what}" for label, what in
                 (("added", added), ("removed", removed), ("retyped", retyped)) if what]
        raise FrameSchemaError(
            f"frame asset {asset!r} [{key!r}]: schema change ({'; '.join(parts)}) against "
            f"table {table_name(asset)!r}; drop it to start over or write a new asset")


def _cells(col: pd.Series) -> list[Any]:
    """A column as Python values for COPY, None for missing."""
    missing = col.isna().tolist()
    if pdt.is_datetime64_any_dtype(col.dtype):
        values = [v.to_pydatetime(warn=False) if not m else None
                  for v, m in zip(col.tolist(), missing, strict=True)]
        return values
    return [None if m else (v.item() if isinstance(v, np.generic) else v)
            for v, m in zip(col.tolist(), missing, strict=True)]


def _restore(values: Sequence[Any], dtype_name: str) -> pd.Series:
    """A column read back, cast to the dtype it was written with."""
    dtype = pdt.pandas_dtype(dtype_name)
    if isinstance(dtype, pd.DatetimeTZDtype):
        # psycopg returns instants in the session's timezone: back to the frame's own
        return pd.Series(pd.to_datetime(list(values), utc=True)).dt.tz_convert(
            dtype.tz).astype(dtype)
    if pdt.is_datetime64_dtype(dtype):
        return pd.Series(pd.to_datetime(list(values))).astype(dtype)
    return pd.Series(list(values), dtype=object).astype(dtype)


# ------------------------------------------------------------------------------------------
# version and metadata


def frame_version(df: pd.DataFrame) -> str:
    """sha256 of the column names and dtypes, in order, and of every row's hash, in order.

    The same frame (same columns, dtypes and values in the same row order) gives the same
    version in any process: pandas' row hashes use a fixed key, not Python's salted hash.
    Row order counts — a frame is ordered, and read returns it in that order — the index does
    not (it is not stored). A pandas upgrade that changed its hashing would only make the
    assets downstream stale once."""
    h = hashlib.sha256()
    h.update(json.dumps([[str(n), str(t)] for n, t in df.dtypes.items()]).encode("utf-8"))
    h.update(len(df).to_bytes(8, "little"))
    if len(df.columns):
        rows = pd.util.hash_pandas_object(df, index=False).to_numpy()
        h.update(rows.astype("<u8").tobytes())
    return h.hexdigest()


def _json_cell(v: Any) -> Any:
    if v is None or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return None
    if v is pd.NA:
        return None
    if isinstance(v, np.generic):
        return _json_cell(v.item())
    if isinstance(v, (pd.Timestamp, dt.datetime, dt.date)):
        return v.isoformat()
    if isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


def _date_column(df: pd.DataFrame) -> str | None:
    for n in df.columns:
        col = df[n]
        if pdt.is_datetime64_any_dtype(col.dtype) or (
                pdt.is_object_dtype(col.dtype) and pdt.infer_dtype(col, skipna=True) == "date"):
            return n
    return None


def frame_metadata(df: pd.DataFrame) -> dict[str, Any]:
    """What to record about a frame: row count, column dtypes, the range of its first date
    or datetime column (`date_range`, absent without one) and its first rows (`preview`)."""
    meta: dict[str, Any] = {
        "row_count": len(df),
        "columns": {str(n): str(t) for n, t in df.dtypes.items()},
    }
    date_col = _date_column(df)
    if date_col is not None:
        present = df[date_col].dropna()
        if len(present):
            meta["date_range"] = {"column": str(date_col), "min": _json_cell(present.min()),
                                  "max": _json_cell(present.max())}
    meta["preview"] = [{str(n): _json_cell(v) for n, v in row.items()}
                       for row in df.head(PREVIEW_ROWS).to_dict(orient="records")]
    return meta


# ------------------------------------------------------------------------------------------
# the store


def _table_columns(conn: psycopg.Connection, table: str) -> dict[str, str] | None:
    """{column: format_type} of a frame table (its own columns only), None if absent."""
    oid = conn.execute("SELECT to_regclass(%s)::oid", (sql.Identifier(table).as_string(conn),)
                       ).fetchone()[0]
    if oid is None:
        return None
    rows = conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped ORDER BY attnum", (oid,)
    ).fetchall()
    return {n: t for n, t in rows if n not in (KEY_COLUMN, ROW_COLUMN)}


def _ensure_versions_table(conn: psycopg.Connection) -> None:
    if conn.execute("SELECT to_regclass(%s)", (VERSIONS_TABLE,)).fetchone()[0] is not None:
        return
    # Two first writers creating the same table race on the catalog: serialize them.
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('talentflow.frames.ddl'))")
    conn.execute(f"""
        CREATE TABLE IF NOT EXISTS {VERSIONS_TABLE} (
            asset text COLLATE "C" NOT NULL,
            partition_key text COLLATE "C" NOT NULL,
            data_version text NOT NULL,
            columns jsonb NOT NULL,
            PRIMARY KEY (asset, partition_key))""")


def _create_table(conn: psycopg.Connection, table: str,
                  cols: Sequence[tuple[str, str, str]]) -> None:
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('talentflow.frames.ddl'))")
    defs = [sql.SQL("{} text COLLATE \"C\" NOT NULL").format(sql.Identifier(KEY_COLUMN)),
            sql.SQL("{} bigint NOT NULL").format(sql.Identifier(ROW_COLUMN))]
    defs += [sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(s)) for n, s, _ in cols]
    # The primary key is the index on partition_key (its leading column) and the read order.
    conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} ({}, PRIMARY KEY ({}, {}))").format(
        sql.Identifier(table), sql.SQL(", ").join(defs), sql.Identifier(KEY_COLUMN),
        sql.Identifier(ROW_COLUMN)))


class DataFrameStore(ValueStore):
    """pandas DataFrames per partition key in a table of the asset's own (module docstring)."""

    def version(self, value: Any) -> str:
        _check_frame(None, value)  # asked before write: say what is wrong, not AttributeError
        return frame_version(value)

    def metadata(self, value: Any) -> dict[str, Any]:
        """What the engine records with each materialized partition."""
        return frame_metadata(value) if isinstance(value, pd.DataFrame) else {}

    def write(self, conn: psycopg.Connection, asset: str,
              items: Mapping[str, tuple[Any, str]]) -> None:
        if not items:
            return
        table = table_name(asset)
        existing = _table_columns(conn, table)
        for df, _ in items.values():
            _check_frame(asset, df)
        known = dict(existing or {})
        if existing is None:  # a new table: an all-missing column takes its batch-mates' type
            for df, _ in items.values():
                for n in df.columns:
                    if n not in known:
                        t = _sql_type(asset, n, df[n], None)
                        if t is not None:
                            known[n] = t
        schemas = {k: _columns(asset, df, known) for k, (df, _) in items.items()}
        if existing is None:
            _create_table(conn, table, next(iter(schemas.values())))
            existing = _table_columns(conn, table) or {}
        for k, cols in schemas.items():  # every frame checked before anything is written
            _check_schema(asset, k, existing, cols)
        _ensure_versions_table(conn)
        order = list(existing)
        keys = list(items)
        conn.execute(sql.SQL("DELETE FROM {} WHERE {} = ANY(%s)").format(
            sql.Identifier(table), sql.Identifier(KEY_COLUMN)), (keys,))
        target = sql.SQL(", ").join(sql.Identifier(n) for n in [KEY_COLUMN, ROW_COLUMN, *order])
        with conn.cursor() as cur, cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(table), target)) as copy:
            for k, (df, _) in items.items():
                cells = [_cells(df[n]) for n in order]
                for i, row in enumerate(zip(*cells, strict=True)):
                    copy.write_row((k, i, *row))
        with conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {VERSIONS_TABLE} (asset, partition_key, data_version, columns) "
                "VALUES (%s, %s, %s, %s::jsonb) ON CONFLICT (asset, partition_key) DO UPDATE "
                "SET data_version = EXCLUDED.data_version, columns = EXCLUDED.columns",
                [(asset, k, version, json.dumps([[n, t] for n, _, t in schemas[k]]))
                 for k, (_, version) in items.items()])

    def read(self, conn: psycopg.Connection, asset: str, keys: Sequence[str]
             ) -> dict[str, Stored]:
        if not keys:
            return {}
        table = table_name(asset)
        existing = _table_columns(conn, table)
        if existing is None or conn.execute("SELECT to_regclass(%s)", (VERSIONS_TABLE,)
                                            ).fetchone()[0] is None:
            return {}
        versions = {k: (v, cols) for k, v, cols in conn.execute(
            f"SELECT partition_key, data_version, columns FROM {VERSIONS_TABLE} "
            "WHERE asset = %s AND partition_key = ANY(%s)", (asset, list(keys))).fetchall()}
        if not versions:
            return {}
        order = list(existing)
        rows: dict[str, list[tuple]] = {k: [] for k in versions}
        query = sql.SQL("SELECT {} FROM {} WHERE {} = ANY(%s) ORDER BY {}, {}").format(
            sql.SQL(", ").join(sql.Identifier(n) for n in [KEY_COLUMN, *order]),
            sql.Identifier(table), sql.Identifier(KEY_COLUMN), sql.Identifier(KEY_COLUMN),
            sql.Identifier(ROW_COLUMN))
        for row in conn.execute(query, (list(versions),)):
            rows[row[0]].append(row[1:])
        out: dict[str, Stored] = {}
        for k, (version, cols) in versions.items():
            by_name = dict(zip(order, zip(*rows[k], strict=True), strict=False)) \
                if rows[k] else {}
            frame = pd.DataFrame({n: _restore(by_name.get(n, ()), t) for n, t in cols})
            if not cols:
                frame = pd.DataFrame(index=pd.RangeIndex(len(rows[k])))
            out[k] = Stored(frame, version)
        return out
