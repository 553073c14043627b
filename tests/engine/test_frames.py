"""DataFrame values on the real database: round trips with their dtypes and row order, one
partition rewritten alone, versions, schema changes refused, and an engine run where daily
frames flow from one asset to the next with their metadata recorded."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pytest
from pandas.testing import assert_frame_equal

from talentflow.engine import Definitions, TimeWindowPartitions, asset, materialize
from talentflow.engine.frames import DataFrameStore, FrameSchemaError, table_name

ROOT = Path(__file__).resolve().parents[2]


def sample(day: str = "2026-11-01") -> pd.DataFrame:
    """Every supported kind of column, nulls included, rows deliberately not sorted."""
    start = pd.Timestamp(day)
    return pd.DataFrame({
        "n": np.array([9, 3, 6, 0], dtype="int64"),
        "x": np.array([0.1, -2.5, 1e300, 3.0], dtype="float64"),
        "ok": [True, False, False, True],
        "name": ["délai", "b", "", "z z"],
        "at": pd.date_range(start.tz_localize("Europe/Paris"), periods=4, freq="7h"),
        "local": pd.date_range(start, periods=4, freq="D"),
        "day": [start.date(), None, start.date() + dt.timedelta(days=40), dt.date(1999, 1, 2)],
        "maybe": pd.array([1, None, -3, None], dtype="Int64"),
        "flag": pd.array([None, True, False, None], dtype="boolean"),
        "ratio": [0.5, np.nan, 0.25, np.nan],
        "note": pd.Series(["a", None, "c", None], dtype=object),
    })


def _write(db: str, asset_name: str, frames: dict[str, pd.DataFrame],
           store: DataFrameStore | None = None) -> None:
    store = store or DataFrameStore()
    with psycopg.connect(db) as conn, conn.transaction():
        store.write(conn, asset_name, {k: (f, store.version(f)) for k, f in frames.items()})


def _read(db: str, asset_name: str, keys: list[str]) -> dict:
    with psycopg.connect(db) as conn:
        return DataFrameStore().read(conn, asset_name, keys)


def test_frames_round_trip_per_partition_with_their_dtypes_and_order(db: str) -> None:
    one, two = sample("2026-11-01"), sample("2026-11-02").iloc[::-1].reset_index(drop=True)
    empty = sample().iloc[0:0]
    empty = empty.assign(day=pd.Series([], dtype=object), note=pd.Series([], dtype=object))
    _write(db, "readings", {"2026-11-01": one, "2026-11-02": two, "2026-11-03": empty})

    got = _read(db, "readings", ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-09"])
    assert sorted(got) == ["2026-11-01", "2026-11-02", "2026-11-03"]  # never written: absent
    for key, frame in (("2026-11-01", one), ("2026-11-02", two), ("2026-11-03", empty)):
        assert_frame_equal(got[key].value, frame, check_exact=True)
        assert got[key].data_version == DataFrameStore().version(frame)
    assert str(got["2026-11-01"].value["at"].dt.tz) == "Europe/Paris"

    with psycopg.connect(db) as conn:
        types = dict(conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = %s", (table_name("readings"),)).fetchall())
        nulls = conn.execute(
            'SELECT count(*) FILTER (WHERE maybe IS NULL), count(*) FILTER (WHERE ratio IS NULL)'
            ' FROM frame_readings WHERE partition_key = %s', ("2026-11-01",)).fetchone()
    assert types["n"] == "bigint" and types["x"] == "double precision"
    assert types["ok"] == "boolean" and types["name"] == "text" and types["note"] == "text"
    assert types["at"] == "timestamp with time zone"
    assert types["local"] == "timestamp without time zone" and types["day"] == "date"
    assert types["maybe"] == "bigint" and types["flag"] == "boolean"
    assert nulls == (2, 2)  # missing values are SQL NULLs, not NaN


def test_rewriting_one_partition_leaves_the_others(db: str) -> None:
    a, b = sample("2026-11-01"), sample("2026-11-02")
    _write(db, "readings", {"a": a, "b": b})
    shorter = a.iloc[[2, 0]].reset_index(drop=True).assign(n=[100, 200])
    _write(db, "readings", {"a": shorter})

    got = _read(db, "readings", ["a", "b"])
    assert_frame_equal(got["a"].value, shorter, check_exact=True)
    assert_frame_equal(got["b"].value, b, check_exact=True)
    assert got["a"].data_version != DataFrameStore().version(a)
    with psycopg.connect(db) as conn:
        rows = dict(conn.execute("SELECT partition_key, count(*) FROM frame_readings "
                                 "GROUP BY partition_key").fetchall())
    assert rows == {"a": 2, "b": 4}  # no leftover rows of the longer frame


def test_a_version_is_the_frame_and_nothing_else(tmp_path: Path) -> None:
    store = DataFrameStore()
    base = store.version(sample())
    assert store.version(sample()) == base  # rebuilt, not the same object
    assert store.version(sample().set_axis([10, 11, 12, 13])) == base  # the index is not kept

    changed_cell = sample()
    changed_cell.loc[2, "name"] = "other"
    changed_null = sample()
    changed_null.loc[1, "maybe"] = 0
    renamed = sample().rename(columns={"x": "y"})
    retyped = sample().astype({"n": "float64"})  # same numbers, another dtype
    reordered = sample().iloc[[1, 0, 2, 3]].reset_index(drop=True)
    other_zone = sample().assign(at=sample()["at"].dt.tz_convert("UTC"))
    variants = [changed_cell, changed_null, renamed, retyped, reordered, other_zone]
    versions = {store.version(v) for v in variants}
    assert base not in versions and len(versions) == len(variants)

    # Another interpreter, another hash seed: the same version.
    code = ("from tests.engine.test_frames import sample; "
            "from talentflow.engine.frames import DataFrameStore; "
            "print(DataFrameStore().version(sample()))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=300, env={**os.environ, "PYTHONHASHSEED": "977"},
                         check=True)
    assert out.stdout.strip() == base


def test_a_schema_change_is_refused_in_one_line_and_writes_nothing(db: str) -> None:
    original = sample()
    _write(db, "readings", {"a": original})
    for frame, names in (
        (sample().assign(extra=1), ["added", "extra"]),
        (sample().drop(columns=["note"]), ["removed", "note"]),
        (sample().astype({"n": "float64"}), ["n: bigint -> double precision"]),
    ):
        with pytest.raises(FrameSchemaError) as err:
            _write(db, "readings", {"b": sample(), "a": frame})
        text = str(err.value)
        assert "'readings'" in text and "'a'" in text and "\n" not in text
        assert all(n in text for n in names), text
    for bad, why in ((sample().assign(gap=pd.to_timedelta(1, unit="s")), "'gap' has dtype"),
                     (sample().assign(when=[dt.datetime(2026, 1, 1)] * 4).astype(
                         {"when": object}), "pd.to_datetime"),
                     (sample().rename(columns={"n": "partition_key"}), "partition_key")):
        with pytest.raises(FrameSchemaError, match=why):
            _write(db, "readings", {"b": bad})
    got = _read(db, "readings", ["a", "b"])
    assert list(got) == ["a"]  # the refused batch wrote nothing, its good frame included
    assert_frame_equal(got["a"].value, original, check_exact=True)


def test_a_daily_frame_flows_downstream_with_its_metadata(db: str) -> None:
    days = TimeWindowPartitions("days", start="2026-11-01", schedule="daily", timezone="UTC",
                                end="2026-11-04")
    seen: dict[str, pd.DataFrame] = {}

    @asset(partitions=days, store=DataFrameStore())
    def readings(ctx) -> pd.DataFrame:
        start, _ = ctx.partition_value
        hours = 2 + start.day  # a different row count per day
        return pd.DataFrame({
            "at": pd.date_range(pd.Timestamp(start), periods=hours, freq="h"),
            "value": np.arange(hours, dtype="int64") * start.day,
            "label": [f"h{i}" for i in range(hours)],
        })

    @asset(partitions=days, store=DataFrameStore())
    def totals(key: str, readings: pd.DataFrame) -> pd.DataFrame:
        seen[key] = readings
        return pd.DataFrame({"rows": [len(readings)], "total": [readings["value"].sum()]})

    defs = Definitions(assets=[readings, totals])
    result = materialize(defs, ["totals+upstream"])
    assert result.ok, result.failed
    keys = ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert sorted(result.assets["readings"].ran) == keys
    assert sorted(result.assets["totals"].ran) == keys

    # Downstream got exactly its own day, as a frame with the upstream's dtypes.
    assert sorted(seen) == keys
    third = seen["2026-11-03"]
    assert len(third) == 5 and third["value"].tolist() == [0, 3, 6, 9, 12]
    assert str(third["at"].dtype).startswith("datetime64[") and third["at"].dt.tz is not None
    assert third["value"].dtype == np.dtype("int64")
    assert third["at"].min() == pd.Timestamp("2026-11-03", tz="UTC")

    stored = _read(db, "totals", keys)
    assert stored["2026-11-02"].value.to_dict(orient="list") == {"rows": [4], "total": [12]}

    with psycopg.connect(db) as conn:
        meta = dict(conn.execute(
            "SELECT l.partition_key, m.metadata FROM materializations m JOIN partition_latest l "
            "ON l.materialization_id = m.id WHERE l.asset = 'readings'").fetchall())
    day2 = meta["2026-11-02"]
    assert day2["row_count"] == 4
    assert day2["date_range"]["column"] == "at"
    assert dt.datetime.fromisoformat(day2["date_range"]["min"]) == \
        dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    assert dt.datetime.fromisoformat(day2["date_range"]["max"]) == \
        dt.datetime(2026, 11, 2, 3, tzinfo=dt.UTC)
    assert day2["columns"]["value"] == "int64" and len(day2["preview"]) == 4
    assert day2["preview"][1]["label"] == "h1"

    # Stored frames read back with the versions recorded: nothing is stale, nothing runs.
    again = materialize(defs, ["totals+upstream"])
    assert again.flow_run_id is None and not again.assets
