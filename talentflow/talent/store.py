"""Reading and writing the talent tables in bulk: one round trip per batch, never per row."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import psycopg
from psycopg.types.json import Jsonb

from talentflow.talent import matching
from talentflow.talent.entities import Entity
from talentflow.talent.lexical import LexicalVector
from talentflow.talent.profile import NormalizedProfile

if TYPE_CHECKING:  # the value store module imports this one
    from talentflow.talent.value_stores import EmbeddedEntity


@dataclass(frozen=True)
class SourceRow:
    id: str
    text: str
    content_hash: str  # the source asset's data version


def load_sources(conn: psycopg.Connection, ent: Entity, ids: Sequence[str] | None = None
                 ) -> list[SourceRow]:
    """Source rows (all, or the given ids) with the text to normalize and their data version."""
    where, params = ("WHERE id = ANY(%s)", [list(ids)]) if ids is not None else ("", [])
    rows = conn.execute(
        f"SELECT id, {ent.text_sql}, content_hash FROM {ent.table} {where} ORDER BY id", params
    ).fetchall()
    return [SourceRow(*r) for r in rows]


def source_versions(conn: psycopg.Connection, ent: Entity) -> dict[str, str]:
    """id -> content hash of every source row (the source asset's data versions)."""
    return dict(conn.execute(f"SELECT id, content_hash FROM {ent.table}").fetchall())


def upsert_normalized(
    conn: psycopg.Connection,
    ent: Entity,
    items: Iterable[tuple[str, NormalizedProfile, str, str, str]],
) -> int:
    """Write (id, profile, provider, model, data_version) rows; unchanged rows are not touched."""
    rows = [
        (key, p.title, p.seniority, p.years_experience, p.skills, p.location, p.remote,
         p.summary, p.target_title, p.must_have_skills, provider, model, version)
        for key, p, provider, model, version in items
    ]
    if not rows:
        return 0
    col = ent.id_column
    with conn.cursor() as cur:
        cur.executemany(
            f"""
            INSERT INTO {ent.normalized_table} ({col}, title, seniority, years_experience,
                skills, location, remote, summary, target_title, must_have_skills, provider,
                model, data_version)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT ({col}) DO UPDATE SET
                title = EXCLUDED.title, seniority = EXCLUDED.seniority,
                years_experience = EXCLUDED.years_experience, skills = EXCLUDED.skills,
                location = EXCLUDED.location, remote = EXCLUDED.remote,
                summary = EXCLUDED.summary, target_title = EXCLUDED.target_title,
                must_have_skills = EXCLUDED.must_have_skills, provider = EXCLUDED.provider,
                model = EXCLUDED.model, data_version = EXCLUDED.data_version,
                normalized_at = now()
            WHERE {ent.normalized_table}.data_version IS DISTINCT FROM EXCLUDED.data_version
            """,
            rows,
        )
    return len(rows)


def load_profiles(conn: psycopg.Connection, ent: Entity, ids: Sequence[str]
                  ) -> dict[str, tuple[NormalizedProfile, str, str, str]]:
    """id -> (profile, data version, provider, model) for the given ids that were normalized."""
    rows = conn.execute(
        f"""SELECT {ent.id_column}, title, seniority, years_experience, skills, location,
                   remote, summary, target_title, must_have_skills, data_version, provider,
                   model
            FROM {ent.normalized_table} WHERE {ent.id_column} = ANY(%s)""",
        [list(ids)],
    ).fetchall()
    return {
        r[0]: (
            NormalizedProfile.model_construct(
                title=r[1], seniority=r[2], years_experience=r[3], skills=list(r[4]),
                location=r[5], remote=r[6], summary=r[7], target_title=r[8],
                must_have_skills=list(r[9]),
            ),
            r[10], r[11], r[12],
        )
        for r in rows
    }


def upsert_vectors(conn: psycopg.Connection, ent: Entity,
                   items: Sequence[tuple[str, EmbeddedEntity, str]]) -> int:
    """Write (id, embedded entity, data version) rows: the dense and lexical vectors, and the
    chunk vectors (replaced whole). Binary COPY into temp tables, then one upsert each
    (~50k vectors/s vs ~10k with executemany)."""
    if not items:
        return 0
    col, chunks = ent.id_column, ent.chunk_table
    with conn.cursor() as cur:
        cur.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS incoming_vectors "
            f"(LIKE {ent.vector_table} INCLUDING DEFAULTS) ON COMMIT DROP"
        )
        cur.execute("TRUNCATE incoming_vectors")
        with cur.copy(
            f"COPY incoming_vectors ({col}, embedding, lexical_terms, lexical_weights, model, "
            "data_version) FROM STDIN WITH (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["text", "vector", "int4[]", "float4[]", "text", "text"])
            for key, emb, version in items:
                copy.write_row((key, emb.entity.vector, emb.entity.lexical.terms.tolist(),
                                emb.entity.lexical.weights.tolist(), emb.model, version))
        changed = [r[0] for r in cur.execute(
            f"""
            INSERT INTO {ent.vector_table} ({col}, embedding, lexical_terms, lexical_weights,
                model, data_version)
            SELECT {col}, embedding, lexical_terms, lexical_weights, model, data_version
            FROM incoming_vectors
            ON CONFLICT ({col}) DO UPDATE SET embedding = EXCLUDED.embedding,
                lexical_terms = EXCLUDED.lexical_terms,
                lexical_weights = EXCLUDED.lexical_weights,
                model = EXCLUDED.model, data_version = EXCLUDED.data_version,
                embedded_at = now()
            WHERE {ent.vector_table}.data_version IS DISTINCT FROM EXCLUDED.data_version
            RETURNING {col}
            """
        ).fetchall()]
        cur.execute("DROP TABLE incoming_vectors")
        if changed:
            by_key = {key: emb for key, emb, _ in items}
            cur.execute(f"DELETE FROM {chunks} WHERE {col} = ANY(%s)", [changed])
            with cur.copy(f"COPY {chunks} ({col}, chunk, embedding) FROM STDIN "
                          "WITH (FORMAT BINARY)") as copy:
                copy.set_types(["text", "int4", "vector"])
                for key in changed:
                    for i, vec in enumerate(by_key[key].chunks):
                        copy.write_row((key, i, np.asarray(vec, dtype=np.float32)))
    return len(items)


def load_side(conn: psycopg.Connection, ent: Entity, ids: Sequence[str] | None = None, *,
              with_versions: bool = False) -> matching.Side:
    """What matching needs of one side (all embedded entities, or the given ids), id-ordered;
    with their vectors' data versions if asked."""
    where, params = (f"WHERE v.{ent.id_column} = ANY(%s)", [list(ids)]) if ids is not None \
        else ("", [])
    with conn.cursor(binary=True) as cur:
        rows = cur.execute(
            f"""SELECT v.{ent.id_column}, v.embedding, v.lexical_terms, v.lexical_weights,
                       n.skills, n.must_have_skills, n.seniority, v.data_version
                FROM {ent.vector_table} v
                JOIN {ent.normalized_table} n USING ({ent.id_column})
                {where} ORDER BY v.{ent.id_column}""",
            params,
        ).fetchall()
    # Code point order whatever the database collation: ties in a top-K are broken by it.
    rows.sort(key=lambda r: r[0])
    entities = [
        matching.Entity(_as_array(r[1]),
                        LexicalVector(np.asarray(r[2], dtype=np.int32),
                                      np.asarray(r[3], dtype=np.float32)),
                        tuple(r[4]), tuple(r[5]), r[6])
        for r in rows
    ]
    return matching.Side.of([r[0] for r in rows], entities,
                            [r[7] for r in rows] if with_versions else None)


def _as_array(value) -> np.ndarray:
    # pgvector's binary loader gives a Vector object, the text loader a numpy array.
    return np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value, np.float32)


# --- match lists -----------------------------------------------------------------------------

def _other_ids_column(ent: Entity) -> str:
    return f"{ent.other.kind}_ids"


def upsert_match_lists(conn: psycopg.Connection, ent: Entity,
                       rows: Iterable[tuple[str, list[str], list[float], list[dict], str]]
                       ) -> int:
    """Write (id, other ids, scores, explanations, data version) rows in one COPY + upsert;
    rows whose data version did not change are not touched."""
    rows = [(key, ids, scores, Jsonb(explained), version)
            for key, ids, scores, explained, version in rows]
    if not rows:
        return 0
    table, col, others = ent.matches_asset, ent.id_column, _other_ids_column(ent)
    with conn.cursor() as cur:
        cur.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS incoming_lists (LIKE {table} INCLUDING DEFAULTS) "
            "ON COMMIT DROP"
        )
        cur.execute("TRUNCATE incoming_lists")
        with cur.copy(f"COPY incoming_lists ({col}, {others}, scores, explanations, "
                      "data_version) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["text", "text[]", "float4[]", "jsonb", "text"])
            for row in rows:
                copy.write_row(row)
        cur.execute(
            f"""
            INSERT INTO {table} ({col}, {others}, scores, explanations, data_version)
            SELECT {col}, {others}, scores, explanations, data_version
            FROM incoming_lists
            ON CONFLICT ({col}) DO UPDATE SET {others} = EXCLUDED.{others},
                scores = EXCLUDED.scores, explanations = EXCLUDED.explanations,
                data_version = EXCLUDED.data_version, matched_at = now()
            WHERE {table}.data_version IS DISTINCT FROM EXCLUDED.data_version
            """
        )
        cur.execute("DROP TABLE incoming_lists")
    return len(rows)


def load_match_lists(conn: psycopg.Connection, ent: Entity, ids: Sequence[str] | None = None
                     ) -> list[tuple[str, list[dict], str]]:
    """(id, explained entries best first, data version) of stored lists."""
    table, col = ent.matches_asset, ent.id_column
    where, params = (f"WHERE {col} = ANY(%s)", [list(ids)]) if ids is not None else ("", [])
    return [tuple(r) for r in conn.execute(
        f"SELECT {col}, explanations, data_version FROM {table} {where}", params).fetchall()]


def top_matches(conn: psycopg.Connection, ent: Entity, key: str, k: int = 3) -> list[dict]:
    """The best k entries (explained) stored for one entity."""
    rows = load_match_lists(conn, ent, [key])
    return list(rows[0][1][:k]) if rows else []
