"""Observing source assets on demand: changes recorded once, new keys registered."""

from __future__ import annotations

import psycopg

from talentflow.partitions import Asset, Dep, DynamicPartitions, registry, source_asset, status
from talentflow.partitions.observation import observe_sources


def test_observer_records_changes_and_registers_keys(db: str) -> None:
    world = {"a": "v1", "b": "v1"}
    docs = DynamicPartitions("docs")
    raw = source_asset("raw_docs", docs, observer=lambda conn: list(world.items()))
    clean = Asset("clean_docs", docs, deps=[Dep(raw)], version="1")
    with psycopg.connect(db) as conn:
        assert observe_sources(conn, [raw, clean]) == {"raw_docs": ["a", "b"]}
        assert registry.all_keys(conn, "docs") == ["a", "b"]
        assert observe_sources(conn, [raw]) == {"raw_docs": []}  # nothing changed
        world["b"] = "v2"
        world["c"] = "v1"
        assert sorted(observe_sources(conn, [raw])["raw_docs"]) == ["b", "c"]
        assert [s.status for s in status(conn, clean)] == ["missing"] * 3
