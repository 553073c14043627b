"""match: the cross-join of a batch of entities against every entity on the other side."""

from __future__ import annotations

from typing import Any

from prefect import task

from tasks.caching import partition_cache_key


@task(name="match", cache_key_fn=partition_cache_key, persist_result=True,
      result_serializer="json")
def match_batch(
    asset: str,
    kind: str,
    code_version: str,
    keys: list[str],
    upstream_versions: dict[str, Any],
    top_k: int,
) -> dict[str, Any]:
    """Score `keys` against the whole other side (one matrix product), upsert the pairs.

    The cache key includes the other side's vectors watermark, so any change over there makes
    this run again; an unchanged one is a cache hit and touches nothing.
    """
    from talentflow.db import connect
    from talentflow.talent.cross_join import cross_join
    from talentflow.talent.entities import entity

    with connect() as conn:
        result = cross_join(conn, entity(kind), keys, k=top_k)
    return {
        "matched": result.matched,
        "other_touched": sorted(result.other_touched),
        "pairs_written": result.pairs_written,
    }
