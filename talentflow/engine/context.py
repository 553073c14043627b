"""What an asset function sees and returns.

A batch-aware function gets a `BatchContext` (one batch's keys, their partition values, why
each key runs, a per-key logger, a database connection, the AllOf inputs) and returns
{key: value | Output | Exception}. A single-key function gets a `KeyContext` if it asks for
one (`ctx`/`context`) and returns a value or an `Output`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from talentflow.partitions.sets import (
    DynamicMultiPartitions,
    MultiPartitions,
    PartitionSet,
    TimeWindowPartitions,
)
from talentflow.partitions.status import ReasonKind


@dataclass(frozen=True)
class Output:
    """A value with what the engine cannot guess: its data version, metadata to record."""

    value: Any = None
    data_version: str | None = None  # None: the value store hashes the value
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Failure:
    """A key that failed after all its attempts (what the engine records)."""

    error: str
    attempts: int = 1
    metadata: Mapping[str, Any] = field(default_factory=dict)


class KeyFailed(Exception):
    """Raise (or return) to fail one key with a message and metadata to record."""

    def __init__(self, message: str, metadata: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.metadata = dict(metadata or {})


@dataclass(frozen=True)
class Changes:
    """Upstream keys whose data changed in a watermark interval (incremental AllOf)."""

    keys: list[str]
    removed: bool  # keys disappeared in the interval (which ones is not recorded)


@dataclass
class AllOfInput:
    """An `AllOf` upstream as one batch sees it: the watermark read (and recorded as
    consumed), and per key the watermark its current data consumed — None when the key
    must be computed in full (never materialized, code or its own inputs changed, failed).

        for since, keys in upstream.incremental().items():
            changed = upstream.changes(ctx.conn, since)     # only those columns
    """

    asset: str
    watermark: int
    since: dict[str, int | None]

    def full(self) -> list[str]:
        return [k for k, s in self.since.items() if s is None]

    def incremental(self) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for k, s in self.since.items():
            if s is not None:
                out.setdefault(s, []).append(k)
        return out

    def changes(self, conn: Any, since: int) -> Changes:
        from talentflow.partitions.materializations import changed_between

        keys, removed = changed_between(conn, self.asset, since, self.watermark)
        return Changes(keys, removed)


class _KeyLog(logging.LoggerAdapter):
    """Every line carries the asset and the partition key (in the text and as extras)."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        extra = self.extra or {}
        kwargs.setdefault("extra", {}).update(extra)
        return f"[{extra.get('asset')} {extra.get('partition_key')}] {msg}", kwargs


def _base_logger() -> logging.Logger | logging.LoggerAdapter:
    try:
        from prefect.logging import get_run_logger

        return get_run_logger()
    except Exception:  # noqa: BLE001 - outside a Prefect run: plain logging
        return logging.getLogger("talentflow.engine")


def key_logger(asset: str, key: str) -> logging.LoggerAdapter:
    base = _base_logger()
    inner = base.logger if isinstance(base, logging.LoggerAdapter) else base
    extra = dict(base.extra or {}) if isinstance(base, logging.LoggerAdapter) else {}
    return _KeyLog(inner, {**extra, "asset": asset, "partition_key": key})


def partition_value(partitions: PartitionSet, key: str) -> Any:
    """The decoded value of a key: dimensions of a multi key, the window of a time key."""
    if isinstance(partitions, MultiPartitions | DynamicMultiPartitions):
        return partitions.values(key)
    if isinstance(partitions, TimeWindowPartitions):
        return partitions.window(key)
    return key


@dataclass
class BatchContext:
    asset: str
    keys: list[str]
    partitions: PartitionSet
    reasons: dict[str, frozenset[ReasonKind]]  # why each key runs (empty: missing)
    resources: dict[str, Any]
    flow_run_id: str | None = None
    all_of: dict[str, AllOfInput] = field(default_factory=dict)
    _conn: Any = None

    def partition_value(self, key: str) -> Any:
        return partition_value(self.partitions, key)

    @property
    def values(self) -> dict[str, Any]:
        return {k: partition_value(self.partitions, k) for k in self.keys}

    @property
    def log(self) -> logging.LoggerAdapter:
        label = self.keys[0] if len(self.keys) == 1 else \
            f"{self.keys[0]}…{self.keys[-1]} ({len(self.keys)} keys)" if self.keys else "-"
        return key_logger(self.asset, label)

    def log_for(self, key: str) -> logging.LoggerAdapter:
        return key_logger(self.asset, key)

    @property
    def conn(self) -> Any:
        """A connection to the project database for this batch (opened on first use)."""
        if self._conn is None:
            raise RuntimeError("no connection: use the context inside the engine's compute")
        return self._conn

    @contextmanager
    def connected(self) -> Iterator[BatchContext]:
        from talentflow.db import connect

        with connect() as conn:
            self._conn = conn
            try:
                yield self
            finally:
                self._conn = None

    def for_key(self, key: str) -> KeyContext:
        return KeyContext(self, key)


@dataclass
class KeyContext:
    """One key of a batch, for single-key functions that ask for a context."""

    batch: BatchContext
    key: str

    @property
    def asset(self) -> str:
        return self.batch.asset

    @property
    def partition_value(self) -> Any:
        return self.batch.partition_value(self.key)

    @property
    def reasons(self) -> frozenset[ReasonKind]:
        return self.batch.reasons.get(self.key, frozenset())

    @property
    def log(self) -> logging.LoggerAdapter:
        return self.batch.log_for(self.key)

    @property
    def conn(self) -> Any:
        return self.batch.conn

    @property
    def resources(self) -> dict[str, Any]:
        return self.batch.resources


def keys_label(keys: Sequence[str]) -> str:
    """How a task run names its keys: the key, or the first…last and how many."""
    if len(keys) == 1:
        return keys[0]
    return f"{keys[0]}…{keys[-1]} ({len(keys)} keys)" if keys else "no keys"
