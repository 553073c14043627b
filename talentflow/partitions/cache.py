"""Prefect cache keys from (asset, partition key, code version, upstream data versions).

The same four things mean the same work, so an unchanged partition is a cache hit (state
`Cached`: the body — an LLM call, an embedding — does not run), and changing the code (any
project module the asset runs, see versions.py) or an upstream row changes the key.

    clean = partition_task_options(clean_docs)   # cache_key_fn + persist_result

    @task(**clean)
    def clean_doc(partition_key: str, upstream_versions: dict) -> dict: ...

The cache_key_fn reads two parameters of the task call: `partition_key` (str) and
`upstream_versions` (what `materializations.current_inputs` returns for that key: a mapping
(upstream asset, upstream key | ALL) -> data version; "asset[key]" strings are accepted as
mapping keys too). Both names are arguments of the factory. Prefect only caches results it
persists: `persist_result=False` silently disables caching, so use the options helper or set
`persist_result=True` yourself; results land under $PREFECT_HOME/storage and survive restarts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from typing import Any

from talentflow.partitions.assets import AllKeys, Asset
from talentflow.partitions.versions import canonical_json


def _upstream_items(upstream_versions: Mapping[Any, Any]) -> list[list[Any]]:
    items = []
    for ref, version in upstream_versions.items():
        if isinstance(ref, tuple) and len(ref) == 2:
            up, key = ref
            items.append([str(up), str(key), isinstance(key, AllKeys), str(version)])
        else:  # "asset[key]" or any other label: kept as given
            items.append([str(ref), "", False, str(version)])
    return sorted(items)


def cache_key(asset_name: str, key: str, code_version: str,
              upstream_versions: Mapping[Any, Any]) -> str:
    """A stable hash of the four things that decide a partition's result."""
    payload = canonical_json({
        "asset": asset_name, "key": key, "code": code_version,
        "upstream": _upstream_items(upstream_versions),
    })
    # The key names the result file under the result storage: keep the readable prefix to
    # characters every filesystem accepts.
    label = re.sub(r"[^A-Za-z0-9_-]", "_", asset_name)[:40]
    return f"{label}-{hashlib.sha256(payload.encode()).hexdigest()}"


def partition_cache_key_fn(
    asset: Asset | str,
    *,
    code_version: str | None = None,
    key_param: str = "partition_key",
    upstream_param: str = "upstream_versions",
) -> Callable[[Any, dict[str, Any]], str]:
    """A Prefect `cache_key_fn(context, parameters)` for tasks materializing `asset`.

    The code version is the asset's (computed lazily, once) unless given.
    """
    name = asset.name if isinstance(asset, Asset) else asset
    if code_version is None and not isinstance(asset, Asset):
        raise TypeError("pass an Asset, or a code_version with an asset name")

    def cache_key_fn(context: Any, parameters: dict[str, Any]) -> str:
        try:
            key = parameters[key_param]
        except KeyError:
            raise TypeError(
                f"task caching for asset {name!r} reads the parameter {key_param!r}; the task "
                f"was called with {sorted(parameters)}"
            ) from None
        upstream = parameters.get(upstream_param) or {}
        code = code_version if code_version is not None else asset.code_version  # type: ignore[union-attr]
        return cache_key(name, str(key), code, upstream)

    cache_key_fn.__name__ = f"cache_key_fn_{name}"
    return cache_key_fn


def partition_task_options(asset: Asset, **overrides: Any) -> dict[str, Any]:
    """`@task(**partition_task_options(asset))`: cache key fn + persisted results + a name."""
    options: dict[str, Any] = {
        "cache_key_fn": partition_cache_key_fn(asset),
        "persist_result": True,
        "task_run_name": asset.name + "[{partition_key}]",
    }
    options.update(overrides)
    return options
