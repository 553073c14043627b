"""Per-partition cache keys: (asset, partition key, code version, upstream data versions).

The same four things mean the same work, so an unchanged partition is a cache hit (the body —
an LLM call, an embedding — does not run), and changing the code (any project module the
asset reaches, see versions.py) or an upstream's data changes the key. The engine stores one
entry per partition under this key (talentflow/engine/cache.py).

`upstream_versions` is what the computation read: a mapping (upstream asset, upstream key |
ALL) -> data version; "asset[key]" strings are accepted as mapping keys too.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from talentflow.partitions.assets import AllKeys
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
    # The key names a file under the result storage: keep the readable prefix to characters
    # every filesystem accepts.
    label = re.sub(r"[^A-Za-z0-9_-]", "_", asset_name)[:40]
    return f"{label}-{hashlib.sha256(payload.encode()).hexdigest()}"
