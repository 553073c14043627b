"""Prefect cache keys for the pipeline's batch tasks, built from partition versions only.

A task that materializes an asset for a batch of keys receives `asset`, `code_version`,
`keys` and `upstream_versions` ({key: what that key consumes, as
`materializations.current_inputs` gives it}). Each key's cache key is the partition
library's `cache_key(asset, key, code version, upstream data versions)`; a batch's key is the
hash of its keys' keys and of the database's identity (tasks write into that database, so a
result cached for another database must never stand in). A single-key run is a batch of one,
so an unchanged partition is a cache hit ("Cached": no LLM call, no re-embedding), and
changing the code or an upstream row changes exactly the affected keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from prefect.context import TaskRunContext

from talentflow.db.engine import database_identity
from talentflow.partitions.cache import cache_key


def batch_cache_key(asset: str, code_version: str, keys: Sequence[str],
                    upstream_versions: Mapping[str, Any], database: str = "") -> str:
    per_key = sorted(cache_key(asset, k, code_version, upstream_versions[k]) for k in keys)
    digest = hashlib.sha256("\n".join([database, *per_key]).encode()).hexdigest()
    kind = "batch" if len(per_key) > 1 else "key"
    return f"{per_key[0].split('-', 1)[0]}-{kind}-{digest}"


def partition_cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    """`cache_key_fn` for the pipeline's batch tasks (see module docstring)."""
    return batch_cache_key(parameters["asset"], parameters["code_version"],
                           parameters["keys"], parameters["upstream_versions"],
                           database=database_identity())
