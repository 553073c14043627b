"""Per-partition result cache on Prefect's result storage.

Key = (asset, partition key, code version, the upstream versions the compute READ) — see
`talentflow.partitions.cache.cache_key`. One entry per partition, not per batch: a
single-key run after a batch run (or the reverse) finds the key's entry and computes nothing
(no LLM call, no embedding). Entries hold pure values; the engine writes them into the
database itself, so an entry made against one database is correct in any other.

Only successes are stored, and a key whose last attempt failed is never served from the
cache: it is retried for real.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from talentflow.engine.context import Output
from talentflow.partitions.cache import cache_key

_log = logging.getLogger(__name__)


def partition_cache_key(asset: str, key: str, code_version: str,
                        inputs: Mapping[Any, str]) -> str:
    return "tf-" + cache_key(asset, key, code_version, inputs)


class PartitionCache:
    def __init__(self) -> None:
        from prefect.results import ResultStore, get_default_result_storage

        # Prefect's default result storage (PREFECT_HOME/storage unless configured), whether
        # or not the flow itself persists results.
        self._store = ResultStore(result_storage=get_default_result_storage())

    def lookup(self, keys: Mapping[str, str]) -> dict[str, Output]:
        """{partition key: cache key} -> the cached outputs found."""
        found: dict[str, Output] = {}
        for key, ck in keys.items():
            try:
                if not self._store.exists(ck):
                    continue
                value = self._store.read(ck).result
            except Exception as exc:  # noqa: BLE001 - an unreadable entry is a miss
                _log.warning("cache entry %s unreadable (%s): computing again", ck, exc)
                continue
            if isinstance(value, Output):
                found[key] = value
        return found

    def store(self, outputs: Mapping[str, tuple[str, Output]]) -> None:
        """{partition key: (cache key, output)}; best effort (a miss later is only slower)."""
        for key, (ck, out) in outputs.items():
            try:
                self._store.write(obj=out, key=ck)
            except Exception as exc:  # noqa: BLE001
                _log.warning("could not cache %s (%s)", key, exc)
