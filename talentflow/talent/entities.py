"""The two sides of the talent pipeline, described once.

Everything that differs between candidates and jobs (tables, id column, which text is
normalized) lives here, so flows and tasks are written once for both sides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

EntityKind = Literal["candidate", "job"]


@dataclass(frozen=True)
class Entity:
    kind: EntityKind
    table: str  # source rows; also the name of the source asset and of its partition set
    text_sql: str  # SQL expression over the source table giving the text to normalize

    @property
    def id_column(self) -> str:
        return f"{self.kind}_id"

    @property
    def normalized_table(self) -> str:
        return f"normalized_{self.table}"

    @property
    def vector_table(self) -> str:
        return f"{self.kind}_vectors"

    @property
    def chunk_table(self) -> str:
        """One dense vector per chunk of the raw text (owned by the vectors asset)."""
        return f"{self.kind}_text_chunks"

    # Asset names, in the words of DESIGN.md.
    @property
    def source_asset(self) -> str:
        return self.table

    @property
    def normalized_asset(self) -> str:
        return self.normalized_table

    @property
    def vectors_asset(self) -> str:
        return self.vector_table

    @property
    def matches_asset(self) -> str:
        return f"{self.kind}_matches"

    @property
    def other(self) -> Entity:
        return JOB if self.kind == "candidate" else CANDIDATE


CANDIDATE = Entity(
    kind="candidate",
    table="candidates",
    text_sql="coalesce('Location: ' || location || E'\\n', '') || cv_text",
)
JOB = Entity(
    kind="job",
    table="jobs",
    text_sql=(
        "title || coalesce(' at ' || company, '') || E'\\n'"
        " || coalesce('Location: ' || location || E'\\n', '') || description"
    ),
)
ENTITIES: dict[str, Entity] = {"candidate": CANDIDATE, "job": JOB}


def entity_of_set(set_name: str) -> Entity:
    """The side whose assets are partitioned by `set_name` (its source table)."""
    for ent in ENTITIES.values():
        if ent.table == set_name:
            return ent
    raise ValueError(f"no talent entity is partitioned by set {set_name!r}")


def entity(kind: str) -> Entity:
    try:
        return ENTITIES[kind]
    except KeyError:
        raise ValueError(
            f"unknown entity kind {kind!r}; expected one of {sorted(ENTITIES)}"
        ) from None
