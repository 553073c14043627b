"""Observe source assets on demand: "what does the outside world hold now?"

A source asset's data version changes outside any run (someone edits a row). Its observer
reads the current (key, data version) pairs in bulk; observing records only real changes
(`materializations.observe`) and registers new keys of a dynamic set, so a status computed
right after shows exactly the partitions an edit made stale — before anything re-runs.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from talentflow.partitions import registry
from talentflow.partitions.assets import Asset
from talentflow.partitions.materializations import observe
from talentflow.partitions.sets import DynamicPartitions


def observe_sources(conn: psycopg.Connection, assets: Sequence[Asset]) -> dict[str, list[str]]:
    """Run the observer of each source asset that has one; returns {asset: changed keys}."""
    changed: dict[str, list[str]] = {}
    for asset in assets:
        if not asset.source or asset.observer is None:
            continue
        items = list(asset.observer(conn))
        if isinstance(asset.partitions, DynamicPartitions):
            registry.add_keys(conn, asset.partitions.name, [key for key, _ in items])
        changed[asset.name] = observe(conn, asset, items)
    return changed
