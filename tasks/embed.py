"""embed: a normalized profile and its raw text -> what matching compares.

- dense: the profile text and every chunk of the raw text through the embedding model, in
  one encoder call per batch; the entity's vector fuses them (talentflow/talent/dense.py);
- lexical: the weighted, stemmed terms of title, skills and raw text (lexical.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from talentflow.embeddings import EmbedderSettings, encode
from talentflow.engine import BatchContext, Output
from talentflow.talent import dense, lexical, matching
from talentflow.talent.profile import NormalizedProfile
from talentflow.talent.value_stores import EmbeddedEntity

# BM25F-style field weights: what the document says it is counts more than a passing word.
TITLE_WEIGHT = 3.0
SKILLS_WEIGHT = 2.0
TEXT_WEIGHT = 1.0


def lexical_fields(profile: NormalizedProfile, text: str) -> list[tuple[str, float]]:
    fields = [(profile.target_title or profile.title, TITLE_WEIGHT)]
    if profile.target_title:
        fields.append((profile.title, TEXT_WEIGHT))
    return [*fields, (" ; ".join(profile.skills), SKILLS_WEIGHT), (text, TEXT_WEIGHT)]


def embed_profiles(ctx: BatchContext, profiles: dict[str, dict[str, Any]],
                   texts: dict[str, str], embedder: EmbedderSettings) -> dict[str, Output]:
    keys = list(ctx.keys)
    parsed = {k: NormalizedProfile.model_validate(profiles[k]["profile"]) for k in keys}
    chunks = {k: dense.text_chunks(texts[k]) for k in keys}
    flat = [parsed[k].embedding_text() for k in keys] + [c for k in keys for c in chunks[k]]
    vectors = encode(flat, embedder)
    out, at = {}, len(keys)
    for i, k in enumerate(keys):
        chunk_vectors = vectors[at:at + len(chunks[k])]
        at += len(chunks[k])
        p = parsed[k]
        entity = matching.Entity(
            dense.entity_vector(vectors[i], chunk_vectors),
            lexical.lexical_vector(lexical_fields(p, texts[k]),
                                   lang=lexical.detect_language(texts[k])),
            tuple(p.skills), tuple(p.must_have_skills), p.seniority)
        out[k] = Output(EmbeddedEntity(entity, np.asarray(chunk_vectors), embedder.model),
                        metadata={"model": embedder.model, "dims": int(vectors.shape[1]),
                                  "chunks": len(chunks[k]),
                                  "lexical_terms": len(entity.lexical)})
    return out
