"""embed: normalized profile text -> unit vector (sentence-transformers, batched)."""

from __future__ import annotations

from typing import Any

from prefect import task

from tasks.caching import partition_cache_key


@task(name="embed", cache_key_fn=partition_cache_key, persist_result=True)
def embed_batch(
    asset: str,
    code_version: str,
    keys: list[str],
    upstream_versions: dict[str, Any],
    texts: dict[str, str],
    embedder: dict[str, Any],
) -> dict[str, list[float]]:
    """Embed each key's text in model batches; returns {key: 384 floats, unit length}."""
    from talentflow.embeddings import EmbedderSettings, encode

    vectors = encode([texts[k] for k in keys], EmbedderSettings(**embedder))
    return {key: vec.tolist() for key, vec in zip(keys, vectors, strict=True)}
