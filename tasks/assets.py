"""The talent pipeline's assets, declared once, in the words of DESIGN.md.

    candidates ─► normalized_candidates ─► candidate_vectors ─► candidate_matches
                                                       ╲      ╱ (all of the other side)
    jobs       ─► normalized_jobs       ─► job_vectors ─► job_matches

Code versions cover the code each step really runs (whole modules, helpers included, see
talentflow/partitions/versions.py) plus what decides its output without being code: the
LLM provider and model, the skills vocabulary, the embedding model.
"""

from __future__ import annotations

from blocks import settings
from talentflow import config
from talentflow.llm import base, openai_normalizer, prompts, rules, schema
from talentflow.partitions import (
    AllOf,
    Asset,
    Dep,
    DynamicPartitions,
    Identity,
    catalog,
    source_asset,
)
from talentflow.talent import cross_join, matching, profile, store
from talentflow.talent.entities import CANDIDATE, JOB, Entity
from tasks import embed, match, normalize

_LLM = settings.llm_settings()
_EMBEDDER = settings.embedder_settings()
_PROVIDER_MODULE = openai_normalizer if _LLM.provider == "openai" else rules
_VOCABULARY = (config.data_dir() / "skills.json").read_text(encoding="utf-8")


def _declare(ent: Entity) -> dict[str, Asset]:
    keys = DynamicPartitions(ent.table)
    source = source_asset(
        ent.source_asset, keys,
        description=f"{ent.kind} rows; data version = hash of the row",
        observer=lambda conn: store.source_versions(conn, ent).items(),
    )
    llm_identity = (f"{_LLM.provider}:{_LLM.model}" if _LLM.provider != "rules"
                    else "rules")
    normalized = Asset(
        ent.normalized_asset, keys, deps=[Dep(source, Identity())],
        code=[normalize, base, schema, prompts, _PROVIDER_MODULE, profile, _VOCABULARY],
        version=llm_identity,
        description=f"{ent.kind} text -> validated profile (title, seniority, skills, ...)",
    )
    vectors = Asset(
        ent.vectors_asset, keys, deps=[Dep(normalized, Identity())],
        code=[embed, profile], version=_EMBEDDER.model,
        description=f"{ent.kind} profile -> 384-d unit vector in pgvector",
    )
    return {a.name: a for a in (source, normalized, vectors)}


ASSETS: dict[str, Asset] = {**_declare(CANDIDATE), **_declare(JOB)}
for _ent in (CANDIDATE, JOB):
    ASSETS[_ent.matches_asset] = Asset(
        _ent.matches_asset, DynamicPartitions(_ent.table),
        deps=[Dep(ASSETS[_ent.vectors_asset], Identity()),
              Dep(ASSETS[_ent.other.vectors_asset], AllOf())],
        code=[match, cross_join, matching, store, _VOCABULARY],
        version=f"top{matching.DEFAULT_TOP_K}",
        description=f"this {_ent.kind} x every {_ent.other.kind}: exact top-K",
    )

catalog.register(*ASSETS.values())


def get(name: str) -> Asset:
    return ASSETS[name]
