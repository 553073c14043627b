"""Prefect Block for the embedder: which sentence-transformers model, on which device, in
which batch size. Save one with `EmbedderConfig(...).save("default")`; flows read it with
`EmbedderConfig.load("default").to_settings()`, or fall back to the environment."""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field

from talentflow.embeddings import BUNDLED_MODEL, EmbedderSettings


class EmbedderConfig(Block):
    _block_type_name = "talentflow-embedder"
    _description = "Sentence-transformers model, device and batch size for talentflow."

    model: str = Field(
        default=BUNDLED_MODEL,
        description="'all-MiniLM-L6-v2' (bundled, offline) or a local model directory.",
    )
    device: str = Field(default="cpu", description="'cpu', 'cuda', 'mps'.")
    batch_size: int = Field(default=32, ge=1, le=1024)

    def to_settings(self) -> EmbedderSettings:
        return EmbedderSettings(model=self.model, device=self.device, batch_size=self.batch_size)
