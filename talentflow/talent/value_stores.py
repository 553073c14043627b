"""The talent assets own their tables: these are their engine value stores.

- profiles  -> normalized_candidates / normalized_jobs (one row per entity)
- vectors   -> candidate_vectors / job_vectors (pgvector dense vector + lexical vector), and
               candidate_text_chunks / job_text_chunks (one pgvector row per raw-text chunk);
               read back with the entity's skills and seniority (what matching needs)
- matches   -> candidate_matches / job_matches (one row per entity: its exact top-K list,
               each entry with its explanation)

Each row carries the data version the engine recorded, written in the same transaction as
the materialization, so a value and its version are always read together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg

from talentflow.engine.stores import Stored, ValueStore
from talentflow.partitions.versions import data_version
from talentflow.talent import matching, store
from talentflow.talent.entities import Entity
from talentflow.talent.profile import NormalizedProfile


class ProfileStore(ValueStore):
    """Value: {"profile": NormalizedProfile fields, "provider": str, "model": str}."""

    def __init__(self, ent: Entity) -> None:
        self.ent = ent

    def version(self, value: Any) -> str:
        # The profile alone: the same profile from another model changes nothing downstream.
        return data_version(value["profile"])

    def write(self, conn: psycopg.Connection, asset: str,
              items: Mapping[str, tuple[Any, str]]) -> None:
        store.upsert_normalized(conn, self.ent, [
            (key, NormalizedProfile.model_validate(v["profile"]), v["provider"], v["model"],
             version) for key, (v, version) in items.items()
        ])

    def read(self, conn: psycopg.Connection, asset: str, keys: Sequence[str]
             ) -> dict[str, Stored]:
        return {k: Stored({"profile": p.model_dump(), "provider": provider, "model": model},
                          version)
                for k, (p, version, provider, model) in
                store.load_profiles(conn, self.ent, keys).items()}


@dataclass(frozen=True)
class EmbeddedEntity:
    """What the embed step produces: the entity as matching sees it, plus the vectors of its
    raw text's chunks (kept in pgvector beside it) and the embedding model."""

    entity: matching.Entity
    chunks: np.ndarray  # (c, d) unit vectors, one per chunk of the raw text
    model: str


class VectorStore(ValueStore):
    """Writes an `EmbeddedEntity`; reads back the `matching.Entity` (what matching needs)."""

    def __init__(self, ent: Entity) -> None:
        self.ent = ent

    def version(self, value: Any) -> str:
        return data_version([np.asarray(value.entity.vector, dtype=np.float32).tobytes(),
                             value.entity.lexical.terms.tobytes(),
                             value.entity.lexical.weights.tobytes()])

    def write(self, conn: psycopg.Connection, asset: str,
              items: Mapping[str, tuple[Any, str]]) -> None:
        if not items:
            return
        store.upsert_vectors(conn, self.ent, [(k, v, version)
                                              for k, (v, version) in items.items()])

    def read(self, conn: psycopg.Connection, asset: str, keys: Sequence[str]
             ) -> dict[str, Stored]:
        side = store.load_side(conn, self.ent, keys, with_versions=True)
        return {k: Stored(side.entities[i], side.versions[i]) for i, k in enumerate(side.ids)}


@dataclass(frozen=True)
class Match:
    """One entry of a match list, with why it is there."""

    id: str
    score: float
    dense: float
    lexical: float
    skills: float  # coverage of the job's skills (0 when either side has too few)
    seniority: float  # 1 same level ... 0 three or more levels apart
    shared_skills: tuple[str, ...] = ()
    missing_must_haves: tuple[str, ...] = ()  # the job's must-haves the candidate lacks

    def explanation(self) -> dict[str, Any]:
        return {"id": self.id, "score": round(self.score, 6), "dense": round(self.dense, 6),
                "lexical": round(self.lexical, 6), "skills": round(self.skills, 6),
                "seniority": round(self.seniority, 6),
                "shared_skills": list(self.shared_skills),
                "missing_must_haves": list(self.missing_must_haves)}

    @classmethod
    def from_explanation(cls, row: Mapping[str, Any]) -> Match:
        return cls(row["id"], row["score"], row["dense"], row["lexical"], row["skills"],
                   row["seniority"], tuple(row["shared_skills"]),
                   tuple(row["missing_must_haves"]))


@dataclass(frozen=True)
class MatchList:
    """One entity's exact top-K on the other side, best first."""

    matches: tuple[Match, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.matches)

    @property
    def scores(self) -> tuple[float, ...]:
        return tuple(m.score for m in self.matches)

    def __len__(self) -> int:
        return len(self.matches)


class MatchListStore(ValueStore):
    def __init__(self, ent: Entity) -> None:
        self.ent = ent

    def version(self, value: Any) -> str:
        # Ids and scores at 4 decimals: float noise below that is not a new answer.
        return data_version([list(value.ids), [round(float(s), 4) for s in value.scores]])

    def write(self, conn: psycopg.Connection, asset: str,
              items: Mapping[str, tuple[Any, str]]) -> None:
        store.upsert_match_lists(conn, self.ent, [
            (k, list(v.ids), list(v.scores), [m.explanation() for m in v.matches], version)
            for k, (v, version) in items.items()
        ])

    def read(self, conn: psycopg.Connection, asset: str, keys: Sequence[str]
             ) -> dict[str, Stored]:
        return {k: Stored(MatchList(tuple(Match.from_explanation(e) for e in explained)),
                          version)
                for k, explained, version in store.load_match_lists(conn, self.ent, keys)}
