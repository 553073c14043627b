"""embed: a normalized profile -> a unit vector (sentence-transformers, in model batches).

What is embedded is the profile text (title, seniority, skills, summary), not the raw CV:
MiniLM reads at most 256 tokens and most CVs are longer.
"""

from __future__ import annotations

from typing import Any

from talentflow.embeddings import EmbedderSettings, encode
from talentflow.engine import BatchContext, Output
from talentflow.talent.profile import NormalizedProfile
from talentflow.talent.value_stores import EmbeddedEntity


def embed_profiles(ctx: BatchContext, profiles: dict[str, dict[str, Any]],
                   embedder: EmbedderSettings) -> dict[str, Output]:
    parsed = {k: NormalizedProfile.model_validate(profiles[k]["profile"]) for k in ctx.keys}
    vectors = encode([parsed[k].embedding_text() for k in ctx.keys], embedder)
    meta = {"model": embedder.model, "dims": int(vectors.shape[1])}
    return {k: Output(EmbeddedEntity(vec, tuple(parsed[k].skills), embedder.model),
                      metadata=meta)
            for k, vec in zip(ctx.keys, vectors, strict=True)}
