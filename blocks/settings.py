"""Where the pipeline's settings come from, decided in one place: a saved Prefect Block when
one is named, else the environment.

    TALENTFLOW_LLM_BLOCK=default        -> LLMConfig.load("default")      (talentflow-llm)
    TALENTFLOW_EMBEDDER_BLOCK=default   -> EmbedderConfig.load("default") (talentflow-embedder)

Both the asset declarations (code versions) and the flows (what runs) call these, so they can
never disagree about the provider, the model or the embedding model.
"""

from __future__ import annotations

import os

from talentflow.embeddings import EmbedderSettings
from talentflow.llm.settings import LLMSettings

LLM_BLOCK_ENV = "TALENTFLOW_LLM_BLOCK"
EMBEDDER_BLOCK_ENV = "TALENTFLOW_EMBEDDER_BLOCK"


def llm_settings() -> LLMSettings:
    name = os.environ.get(LLM_BLOCK_ENV)
    if name:
        from blocks.llm import LLMConfig

        return LLMConfig.load(name).to_settings()
    return LLMSettings.from_env()


def embedder_settings() -> EmbedderSettings:
    name = os.environ.get(EMBEDDER_BLOCK_ENV)
    if name:
        from blocks.embedder import EmbedderConfig

        return EmbedderConfig.load(name).to_settings()
    return EmbedderSettings.from_env()
