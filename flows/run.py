"""One side end to end, for any number of keys: the story both kinds of flow tell."""

from __future__ import annotations

from collections.abc import Sequence

from flows.pipeline import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_EMBED_BATCH_SIZE,
    SideReport,
    embed_step,
    normalize_step,
    register_sources,
)
from talentflow.embeddings import EmbedderSettings
from talentflow.llm.settings import LLMSettings
from talentflow.talent.entities import Entity


def prepare_side(ent: Entity, keys: Sequence[str] | None, *, plan_first: bool,
                 llm: LLMSettings, embedder: EmbedderSettings,
                 batch_size: int = DEFAULT_BATCH_SIZE,
                 embed_batch_size: int = DEFAULT_EMBED_BATCH_SIZE,
                 ) -> tuple[SideReport, list[str]]:
    """Observe sources, normalize, embed. Returns the report and the keys now embedded."""
    sources = register_sources(ent, keys)
    keys = sorted(sources)
    report = SideReport(kind=ent.kind)
    report.normalize = normalize_step(ent, sources, keys, plan_first=plan_first, llm=llm,
                                      batch_size=batch_size)
    embeddable = [k for k in keys if k not in report.normalize.failed]
    report.embed = embed_step(ent, embeddable, plan_first=plan_first, embedder=embedder,
                              batch_size=embed_batch_size)
    ready = [k for k in embeddable if k not in report.embed.failed]
    return report, ready

