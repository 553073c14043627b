"""Record keys as materialized with what they read now, the way a run would (no compute)."""

from __future__ import annotations

import psycopg

from talentflow.partitions import Asset, Record, current_inputs, record_many


def materialize_keys(conn: psycopg.Connection, asset: Asset, keys: list[str],
                     version: str = "out") -> None:
    """Record `keys` of `asset` with data version `<version>:<key>` and their current inputs."""
    inputs = current_inputs(conn, asset, keys)
    record_many(conn, asset, [Record(k, f"{version}:{k}", inputs=inputs[k]) for k in keys])
