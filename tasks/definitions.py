"""The talent project's Definitions: what the CLI, the REST API, serve and the flows load
(`TALENTFLOW_DEFINITIONS`, default `tasks.definitions:defs`).

Resources are resolved once per run — from a saved Prefect Block when one is named, else the
environment (blocks/settings.py) — and what of them decides outputs is part of the code
versions: switching the LLM model re-normalizes, switching the embedding model re-embeds.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from blocks.settings import embedder_settings, llm_settings
from talentflow import config
from talentflow.embeddings import EmbedderSettings
from talentflow.engine import Definitions, Resource
from talentflow.llm.settings import LLMSettings
from talentflow.talent.fusion import load_weights
from tasks.assets import ASSETS
from tasks.costs import publish_cost_artifact

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations" / "versions"


def llm_identity(llm: LLMSettings) -> str:
    """What of the LLM settings decides a profile (never the API key)."""
    if llm.provider == "rules":
        return f"rules:max_chars={llm.max_input_chars}"
    return (f"{llm.provider}:{llm.model}:base_url={llm.resolved_base_url()}"
            f":max_chars={llm.max_input_chars}")


def embedder_identity(embedder: EmbedderSettings) -> str:
    return embedder.model


def vocabulary_text() -> str:
    return (config.data_dir() / "skills.json").read_text(encoding="utf-8")


defs = Definitions(
    assets=ASSETS,
    resources={
        "llm": Resource(llm_settings, llm_identity, "LLM provider for normalize"),
        "embedder": Resource(embedder_settings, embedder_identity, "sentence-transformers"),
        "vocabulary": Resource(vocabulary_text,
                               lambda text: hashlib.sha256(text.encode()).hexdigest(),
                               "data/skills.json: canonical skills and synonyms"),
        "fusion": Resource(load_weights, lambda w: json.dumps(asdict(w), sort_keys=True),
                           "data/match_weights.json: how matching fuses its features"),
    },
    migrations=[MIGRATIONS],
    run_hooks=[publish_cost_artifact],
    name="talent",
)
