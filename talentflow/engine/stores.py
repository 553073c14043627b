"""Value stores: where the values assets hand to each other live.

The engine reads an upstream value together with its data version from the same row, so the
version recorded as consumed is the version of the data the compute actually read (lineage by
construction), and writes values in the same transaction as their materialization records,
so a crash never leaves one without the other.

- `PostgresValueStore` (the default): JSON values in `asset_values`, keyed by partition.
- An asset may own its table (vectors in pgvector, a wide table): subclass `ValueStore`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from talentflow.partitions.versions import _jsonable, data_version


@dataclass(frozen=True)
class Stored:
    value: Any
    data_version: str


class ValueStore:
    """Read and write one asset's values per partition key. Subclass for an owned table."""

    def version(self, value: Any) -> str:
        """The data version of a value (pure: called before anything is written)."""
        return data_version(value)

    def metadata(self, value: Any) -> dict[str, Any]:
        """What to record about a value beside its materialization (none by default)."""
        return {}

    def write(self, conn: psycopg.Connection, asset: str,
              items: Mapping[str, tuple[Any, str]]) -> None:
        """Write {key: (value, data version)} in the caller's transaction."""
        raise NotImplementedError

    def read(self, conn: psycopg.Connection, asset: str, keys: Sequence[str]
             ) -> dict[str, Stored]:
        """The stored values of the keys that have one, each with its data version."""
        raise NotImplementedError


class PostgresValueStore(ValueStore):
    """JSON-serializable values (dicts, lists, numbers, strings, numpy arrays as lists)."""

    def write(self, conn: psycopg.Connection, asset: str,
              items: Mapping[str, tuple[Any, str]]) -> None:
        if not items:
            return
        with conn.cursor() as cur:
            cur.execute(
                "CREATE TEMP TABLE IF NOT EXISTS tf_value_batch (key text COLLATE \"C\", "
                "value jsonb, data_version text) ON COMMIT DELETE ROWS"
            )
            cur.execute("TRUNCATE tf_value_batch")
            with cur.copy("COPY tf_value_batch FROM STDIN") as copy:
                for key, (value, version) in items.items():
                    copy.write_row((key, json.dumps(value, default=_jsonable,
                                                    ensure_ascii=False), version))
            cur.execute(
                """
                INSERT INTO asset_values (asset, partition_key, value, data_version)
                SELECT %s, key, value, data_version FROM tf_value_batch
                ON CONFLICT (asset, partition_key) DO UPDATE SET
                    value = EXCLUDED.value, data_version = EXCLUDED.data_version,
                    updated_at = now()
                WHERE asset_values.data_version IS DISTINCT FROM EXCLUDED.data_version
                """,
                (asset,),
            )
            cur.execute("TRUNCATE tf_value_batch")

    def read(self, conn: psycopg.Connection, asset: str, keys: Sequence[str]
             ) -> dict[str, Stored]:
        if not keys:
            return {}
        rows = conn.execute(
            "SELECT partition_key, value, data_version FROM asset_values "
            "WHERE asset = %s AND partition_key = ANY(%b)",
            (asset, list(keys)),
        ).fetchall()
        return {k: Stored(v, dv) for k, v, dv in rows}


DEFAULT_STORE = PostgresValueStore()


def store_of(asset: Any) -> ValueStore:
    return asset.store if asset.store is not None else DEFAULT_STORE
