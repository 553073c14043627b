"""The talent assets own their tables: these are their engine value stores.

- profiles  -> normalized_candidates / normalized_jobs (one row per entity)
- vectors   -> candidate_vectors / job_vectors (pgvector), read back with the entity's skills
- matches   -> candidate_matches / job_matches (one row per entity: its exact top-K list)

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
from talentflow.talent import store
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
    """A vector with the skills of the profile it embeds (what matching scores)."""

    vector: np.ndarray
    skills: tuple[str, ...]
    model: str = ""  # the embedding model (stored beside the vector)


class VectorStore(ValueStore):
    def __init__(self, ent: Entity) -> None:
        self.ent = ent

    def version(self, value: Any) -> str:
        return data_version(np.asarray(value.vector, dtype=np.float32).tobytes())

    def write(self, conn: psycopg.Connection, asset: str,
              items: Mapping[str, tuple[Any, str]]) -> None:
        if not items:
            return
        keys = list(items)
        matrix = np.vstack([np.asarray(items[k][0].vector, dtype=np.float32) for k in keys])
        # One model per batch (the run's embedder resource).
        store.upsert_vectors(conn, self.ent, keys, matrix, items[keys[0]][0].model,
                             [items[k][1] for k in keys])

    def read(self, conn: psycopg.Connection, asset: str, keys: Sequence[str]
             ) -> dict[str, Stored]:
        side = store.load_side(conn, self.ent, keys, with_versions=True)
        return {k: Stored(EmbeddedEntity(side.vectors[i], tuple(side.skill_lists[i])),
                          side.versions[i])
                for i, k in enumerate(side.ids)}


@dataclass(frozen=True)
class MatchList:
    """One entity's exact top-K on the other side, best first."""

    ids: tuple[str, ...]
    scores: tuple[float, ...]
    cosines: tuple[float, ...]
    skill_overlaps: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.ids)


class MatchListStore(ValueStore):
    def __init__(self, ent: Entity) -> None:
        self.ent = ent

    def version(self, value: Any) -> str:
        # Ids and scores at 4 decimals: float noise below that is not a new answer.
        return data_version([list(value.ids), [round(float(s), 4) for s in value.scores]])

    def write(self, conn: psycopg.Connection, asset: str,
              items: Mapping[str, tuple[Any, str]]) -> None:
        store.upsert_match_lists(conn, self.ent, [
            (k, list(v.ids), list(v.scores), list(v.cosines), list(v.skill_overlaps), version)
            for k, (v, version) in items.items()
        ])

    def read(self, conn: psycopg.Connection, asset: str, keys: Sequence[str]
             ) -> dict[str, Stored]:
        return {k: Stored(MatchList(tuple(ids), tuple(s), tuple(c), tuple(o)), version)
                for k, ids, s, c, o, version in store.load_match_lists(conn, self.ent, keys)}
