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
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from talentflow.engine.context import Output
from talentflow.partitions.cache import cache_key

_log = logging.getLogger(__name__)


def partition_cache_key(asset: str, key: str, code_version: str,
                        inputs: Mapping[Any, str]) -> str:
    return "tf-" + cache_key(asset, key, code_version, inputs)


class PartitionCache:
    """One entry per partition in Prefect's result storage, in Prefect's own record format.

    Local storage (the default, `$PREFECT_HOME/storage`) is read and written directly: one
    file per entry, written atomically (temp file + rename). Prefect's generic write path
    resolves the path about ten times per entry, which made the cache the largest cost of a
    run over many cheap keys. Any other storage (S3, a block) goes through Prefect's store.
    """

    def __init__(self) -> None:
        from prefect.filesystems import LocalFileSystem
        from prefect.results import ResultStore, get_default_result_storage

        # Prefect's default result storage (PREFECT_HOME/storage unless configured), whether
        # or not the flow itself persists results.
        self._store = ResultStore(result_storage=get_default_result_storage())
        storage = self._store.result_storage
        self._local: Path | None = None
        if isinstance(storage, LocalFileSystem) and self._store.result_storage_block_id is None:
            self._local = Path(storage.basepath).expanduser().resolve()
            self._local.mkdir(parents=True, exist_ok=True)

    def lookup(self, keys: Mapping[str, str]) -> dict[str, Output]:
        """{partition key: cache key} -> the cached outputs found."""
        found: dict[str, Output] = {}
        for key, ck in keys.items():
            try:
                value = self._read(ck)
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
                self._write(ck, out)
            except Exception as exc:  # noqa: BLE001
                _log.warning("could not cache %s (%s)", key, exc)

    def _read(self, ck: str) -> object:
        from prefect._internal.result_records import ResultRecord

        if self._local is None:
            return self._store.read(ck).result if self._store.exists(ck) else None
        try:
            data = (self._local / ck).read_bytes()
        except FileNotFoundError:
            return None
        return ResultRecord.deserialize(data).result

    def _write(self, ck: str, out: Output) -> None:
        from prefect._internal.result_records import ResultRecord, ResultRecordMetadata

        if self._local is None:
            self._store.write(obj=out, key=ck)
            return
        path = self._local / ck
        record = ResultRecord(result=out, metadata=ResultRecordMetadata(
            serializer=self._store.serializer, storage_key=str(path)))
        tmp = path.with_name(f".{ck}.{os.getpid()}.tmp")
        tmp.write_bytes(record.serialize())
        os.replace(tmp, path)
