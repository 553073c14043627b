"""The dense side of matching: one unit vector per entity from its profile and its raw text.

MiniLM reads at most 256 word pieces, and most CVs are longer, so the raw text is cut into
overlapping word windows (CHUNK_WORDS, about 170-250 word pieces in English) and every chunk
is embedded. The entity's vector is the normalized sum of two unit vectors:

    profile    the normalized profile's text (title or target role, skills, summary)
    text       the normalized mean of the chunk vectors (everything the document says)

so neither the structured profile nor anything past the first 256 tokens is lost, and the
cross-join stays one 384-dimensional matrix product.
"""

from __future__ import annotations

import numpy as np

CHUNK_WORDS = 128
CHUNK_OVERLAP = 24
MAX_CHUNKS = 24  # ~3,000 words; a longer text's tail adds little and costs linearly


def text_chunks(text: str) -> list[str]:
    """Overlapping windows of the text's words (at least one chunk for any non-empty text)."""
    words = text.split()
    if not words:
        return []
    step = CHUNK_WORDS - CHUNK_OVERLAP
    starts = range(0, max(len(words) - CHUNK_OVERLAP, 1), step)
    return [" ".join(words[s:s + CHUNK_WORDS]) for s in starts][:MAX_CHUNKS]


def _unit(v: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


def entity_vector(profile: np.ndarray, chunks: np.ndarray) -> np.ndarray:
    """The unit dense vector of one entity: profile and mean chunk, equally weighted."""
    profile = _unit(np.asarray(profile, dtype=np.float32))
    if len(chunks):
        text = _unit(np.asarray(chunks, dtype=np.float32).mean(axis=0))
        return _unit(profile + text).astype(np.float32)
    return profile.astype(np.float32)
