"""The talent pipeline's assets, declared once, in the words of DESIGN.md.

    candidates ─► normalized_candidates ─► candidate_vectors ─► candidate_matches
                                                       ╲      ╱ (all of the other side)
    jobs       ─► normalized_jobs       ─► job_vectors ─► job_matches

Both sides share one function per step (tasks/normalize.py, embed.py, match.py); the side is
told by the partition set. Code versions cover the code each function reaches (whole modules,
transitively) plus the resources it uses, resolved once per run (tasks/definitions.py): the
LLM provider, model and input limit, the embedding model, the skills vocabulary, the fusion
weights of matching.
"""

from __future__ import annotations

from talentflow.engine import AllOf, Dep, Output
from talentflow.engine.automation import Eager
from talentflow.partitions import Asset, DynamicPartitions, source_asset
from talentflow.talent import store
from talentflow.talent.entities import CANDIDATE, JOB, Entity
from talentflow.talent.value_stores import MatchListStore, ProfileStore, VectorStore
from tasks.embed import embed_profiles
from tasks.match import TOP_K, match_lists
from tasks.normalize import normalize_profiles

# The reconcile loop runs every computed asset eagerly: missing (new rows), stale (edited
# rows, a changed other side) and abandoned (a dead run's) keys. Not keys whose computation
# failed: an LLM failure is retried by `talentflow backfill --failed`, not every few minutes.
AUTOMATION = Eager()

# Keys per task run: LLM calls in small batches (a bad answer or a budget stop costs
# little); the encoder in large ones (it sorts a batch by length: fuller batches pad less);
# matching in very large ones (one matrix product per batch).
NORMALIZE_BATCH = 64
EMBED_BATCH = 256
MATCH_BATCH = 20_000


def _source_loader(ent: Entity):
    def load_rows(ctx) -> dict[str, Output]:
        """The rows' texts, versioned by the content hash PostgreSQL keeps for each row."""
        return {r.id: Output(r.text, data_version=r.content_hash)
                for r in store.load_sources(ctx.conn, ent, ctx.keys)}

    load_rows.__qualname__ = f"load_{ent.table}"
    return load_rows


def _declare(ent: Entity) -> list[Asset]:
    keys = DynamicPartitions(ent.table)
    source = source_asset(
        ent.source_asset, keys, fn=_source_loader(ent),
        observer=lambda conn: store.source_versions(conn, ent).items(),
        description=f"{ent.kind} rows; data version = hash of the row",
    )
    normalized = Asset(
        ent.normalized_asset, keys, deps=[Dep(source, param="texts")],
        fn=normalize_profiles, batch_size=NORMALIZE_BATCH, store=ProfileStore(ent),
        resources=("llm", "vocabulary"), automation=AUTOMATION,
        description=f"{ent.kind} text -> validated profile (title, seniority, skills, ...)",
    )
    vectors = Asset(
        ent.vectors_asset, keys,
        deps=[Dep(normalized, param="profiles"), Dep(source, param="texts")],
        fn=embed_profiles, batch_size=EMBED_BATCH, store=VectorStore(ent),
        resources=("embedder",), automation=AUTOMATION,
        description=f"{ent.kind} profile + raw text chunks -> dense vector (pgvector) and "
                    "lexical vector",
    )
    return [source, normalized, vectors]


def _matches(ent: Entity) -> Asset:
    return Asset(
        ent.matches_asset, DynamicPartitions(ent.table),
        deps=[Dep(ent.vectors_asset, param="own"),
              Dep(ent.other.vectors_asset, AllOf(), param="other")],
        fn=match_lists, batch_size=MATCH_BATCH, store=MatchListStore(ent),
        # Cheap to recompute and updated incrementally: no per-partition cache entries.
        cache=False, resources=("fusion",), version=f"top{TOP_K}", automation=AUTOMATION,
        description=f"this {ent.kind} x every {ent.other.kind}: exact top-{TOP_K} of the fused "
                    "dense + lexical + skills + seniority score, explained",
    )


ASSETS: list[Asset] = [*_declare(CANDIDATE), *_declare(JOB), _matches(CANDIDATE),
                       _matches(JOB)]

CANDIDATE_CHAIN = [CANDIDATE.normalized_asset, CANDIDATE.vectors_asset, CANDIDATE.matches_asset]
JOB_CHAIN = [JOB.normalized_asset, JOB.vectors_asset, JOB.matches_asset]
