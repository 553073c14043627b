"""The per-key status query keeps its per-key plan once the tables have statistics.

Left free, PostgreSQL turns the per-key probes of a small selection into a hash join over
every input the asset ever recorded (the 1,000-key status that once took 0.25 s instead of
20 ms, growing with the asset, not the selection). These tests read the plan, not a clock."""

from __future__ import annotations

import importlib
import random

from talentflow.partitions import (
    Asset,
    Dep,
    DynamicPartitions,
    Record,
    current_inputs,
    observe,
    record_many,
    registry,
    source_asset,
)

status_module = importlib.import_module("talentflow.partitions.status")


def _plan(conn, asset: Asset, keys: list[str], run) -> str:
    selection, extra = status_module._selection(conn, asset, keys)
    params = status_module._params(asset, {**extra, "ignore_holder": None})
    query = "EXPLAIN " + status_module._query(selection, detail=True)
    return "\n".join(r[0] for r in run(conn, query, params))


def test_a_small_selection_is_probed_key_by_key_after_analyze(conn) -> None:
    items = DynamicPartitions("plan_items")
    keys = [f"p-{i:05d}" for i in range(20_000)]
    registry.add_keys(conn, items.name, keys)
    raw = source_asset("plan_raw", items)
    clean = Asset("plan_clean", items, deps=[Dep(raw)], code=["v1"])
    observe(conn, raw, [(k, f"row-{k}") for k in keys])
    inputs = current_inputs(conn, clean, keys)
    for _ in range(3):  # some history, as after days of use
        record_many(conn, clean, [Record(k, f"v-{k}", inputs=inputs[k]) for k in keys])
    conn.execute("ANALYZE partition_latest, materialization_inputs, materializations")
    few = random.Random(3).sample(keys, 1000)

    def free(c, q, p):
        return c.execute(q, p, prepare=False).fetchall()

    # The condition the settings are for: left free, the planner hashes the whole history.
    assert "Hash" in _plan(conn, clean, few, free)
    planned = _plan(conn, clean, few, status_module._run_per_key)
    assert "Hash" not in planned and "Merge" not in planned and "Seq Scan" not in planned
    # ... and the settings are put back for the caller.
    assert conn.execute("SELECT current_setting('enable_hashjoin')").fetchone()[0] == "on"
