"""Reading and writing the talent tables in bulk: one round trip per batch, never per row."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import psycopg

from talentflow.talent import matching, vocabulary
from talentflow.talent.entities import Entity
from talentflow.talent.profile import NormalizedProfile


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
         p.summary, provider, model, version)
        for key, p, provider, model, version in items
    ]
    if not rows:
        return 0
    col = ent.id_column
    with conn.cursor() as cur:
        cur.executemany(
            f"""
            INSERT INTO {ent.normalized_table} ({col}, title, seniority, years_experience,
                skills, location, remote, summary, provider, model, data_version)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT ({col}) DO UPDATE SET
                title = EXCLUDED.title, seniority = EXCLUDED.seniority,
                years_experience = EXCLUDED.years_experience, skills = EXCLUDED.skills,
                location = EXCLUDED.location, remote = EXCLUDED.remote,
                summary = EXCLUDED.summary, provider = EXCLUDED.provider,
                model = EXCLUDED.model, data_version = EXCLUDED.data_version,
                normalized_at = now()
            WHERE {ent.normalized_table}.data_version IS DISTINCT FROM EXCLUDED.data_version
            """,
            rows,
        )
    return len(rows)


def load_profiles(conn: psycopg.Connection, ent: Entity, ids: Sequence[str]
                  ) -> dict[str, tuple[NormalizedProfile, str]]:
    """id -> (profile, data version) for the given ids that have been normalized."""
    rows = conn.execute(
        f"""SELECT {ent.id_column}, title, seniority, years_experience, skills, location,
                   remote, summary, data_version
            FROM {ent.normalized_table} WHERE {ent.id_column} = ANY(%s)""",
        [list(ids)],
    ).fetchall()
    return {
        r[0]: (
            NormalizedProfile.model_construct(
                title=r[1], seniority=r[2], years_experience=r[3], skills=list(r[4]),
                location=r[5], remote=r[6], summary=r[7],
            ),
            r[8],
        )
        for r in rows
    }


def upsert_vectors(
    conn: psycopg.Connection,
    ent: Entity,
    ids: Sequence[str],
    vectors: np.ndarray,
    model: str,
    data_versions: Sequence[str],
) -> int:
    """Binary COPY into a temp table, then one upsert (~50k vectors/s vs ~10k with executemany)."""
    if not ids:
        return 0
    col = ent.id_column
    with conn.cursor() as cur:
        cur.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS incoming_vectors "
            f"(LIKE {ent.vector_table} INCLUDING DEFAULTS) ON COMMIT DROP"
        )
        cur.execute("TRUNCATE incoming_vectors")
        # LIKE copies the id column's name; rename-free insert by position keeps one table.
        with cur.copy(
            f"COPY incoming_vectors ({col}, embedding, model, data_version) "
            "FROM STDIN WITH (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["text", "vector", "text", "text"])
            for key, vec, version in zip(ids, vectors, data_versions, strict=True):
                copy.write_row((key, vec, model, version))
        cur.execute(
            f"""
            INSERT INTO {ent.vector_table} ({col}, embedding, model, data_version)
            SELECT {col}, embedding, model, data_version FROM incoming_vectors
            ON CONFLICT ({col}) DO UPDATE SET embedding = EXCLUDED.embedding,
                model = EXCLUDED.model, data_version = EXCLUDED.data_version,
                embedded_at = now()
            WHERE {ent.vector_table}.data_version IS DISTINCT FROM EXCLUDED.data_version
            """
        )
        cur.execute("DROP TABLE incoming_vectors")
    return len(ids)


def load_side(conn: psycopg.Connection, ent: Entity, ids: Sequence[str] | None = None
              ) -> matching.Side:
    """Vectors and skills of one side (all embedded entities, or the given ids), id-ordered."""
    where, params = (f"WHERE v.{ent.id_column} = ANY(%s)", [list(ids)]) if ids is not None \
        else ("", [])
    with conn.cursor(binary=True) as cur:
        rows = cur.execute(
            f"""SELECT v.{ent.id_column}, v.embedding, n.skills
                FROM {ent.vector_table} v
                JOIN {ent.normalized_table} n USING ({ent.id_column})
                {where} ORDER BY v.{ent.id_column}""",
            params,
        ).fetchall()
    index = vocabulary.default().index()
    ids_out = [r[0] for r in rows]
    vectors = (
        np.vstack([_as_array(r[1]) for r in rows])
        if rows else np.zeros((0, 384), dtype=np.float32)
    )
    skills = matching.skill_matrix([r[2] for r in rows], index)
    return matching.Side(ids_out, vectors, skills)


def _as_array(value) -> np.ndarray:
    # pgvector's binary loader gives a Vector object, the text loader a numpy array.
    return np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value, np.float32)


# --- matches ---------------------------------------------------------------------------------

def kth_best_scores(conn: psycopg.Connection, ent: Entity, ids: Sequence[str], k: int
                    ) -> np.ndarray:
    """For each id of side `ent`, the K-th best score stored in `matches` (-inf if < K)."""
    col = ent.id_column
    found = dict(
        conn.execute(
            f"""SELECT {col}, score FROM (
                    SELECT {col}, score,
                           row_number() OVER (PARTITION BY {col} ORDER BY score DESC) AS rank
                    FROM matches) ranked
                WHERE rank = %s""",
            [k],
        ).fetchall()
    )
    return np.array([found.get(i, -np.inf) for i in ids], dtype=np.float32)


def remove_pairs(conn: psycopg.Connection, ent: Entity, ids: Sequence[str], k: int) -> set[str]:
    """Delete every stored pair of these entities (their vectors changed).

    Returns the other-side ids whose top-K contained one of them: their lists now have a hole
    that only a full recompute can fill (the next best pair may never have been stored).
    """
    if not ids:
        return set()
    col, other_col = ent.id_column, ent.other.id_column
    holes = {
        r[0]
        for r in conn.execute(
            f"""SELECT DISTINCT {other_col} FROM (
                    SELECT {col}, {other_col},
                           row_number() OVER (PARTITION BY {other_col} ORDER BY score DESC) rank
                    FROM matches
                    WHERE {other_col} IN (SELECT {other_col} FROM matches WHERE {col} = ANY(%s))
                ) ranked
                WHERE rank <= %s AND {col} = ANY(%s)""",
            [list(ids), k, list(ids)],
        ).fetchall()
    }
    conn.execute(f"DELETE FROM matches WHERE {col} = ANY(%s)", [list(ids)])
    return holes


def upsert_pairs(conn: psycopg.Connection, pairs: Iterable[matching.Pair]) -> int:
    """Insert or refresh pairs in one COPY + upsert."""
    pairs = list({(p.candidate_id, p.job_id): p for p in pairs}.values())
    if not pairs:
        return 0
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS incoming_pairs (candidate_id text, job_id text, "
            "score real, cosine real, skill_overlap real) ON COMMIT DROP"
        )
        cur.execute("TRUNCATE incoming_pairs")
        with cur.copy("COPY incoming_pairs FROM STDIN") as copy:
            for p in pairs:
                copy.write_row((p.candidate_id, p.job_id, p.score, p.cosine, p.skill_overlap))
        cur.execute(
            """INSERT INTO matches (candidate_id, job_id, score, cosine, skill_overlap)
               SELECT candidate_id, job_id, score, cosine, skill_overlap FROM incoming_pairs
               ON CONFLICT (candidate_id, job_id) DO UPDATE SET score = EXCLUDED.score,
                   cosine = EXCLUDED.cosine, skill_overlap = EXCLUDED.skill_overlap,
                   matched_at = now()
               WHERE (matches.score, matches.cosine, matches.skill_overlap)
                     IS DISTINCT FROM (EXCLUDED.score, EXCLUDED.cosine, EXCLUDED.skill_overlap)"""
        )
        cur.execute("DROP TABLE incoming_pairs")
    return len(pairs)


def top_k_versions(conn: psycopg.Connection, ent: Entity, ids: Sequence[str], k: int
                   ) -> dict[str, str]:
    """Data version of each entity's top-K list: a hash of the ordered (other id, score) pairs."""
    col, other_col = ent.id_column, ent.other.id_column
    return dict(
        conn.execute(
            f"""SELECT {col}, md5(string_agg({other_col} || ':' || round(score::numeric, 4),
                                             ',' ORDER BY score DESC, {other_col}))
                FROM (SELECT {col}, {other_col}, score,
                             row_number() OVER (PARTITION BY {col}
                                                ORDER BY score DESC, {other_col}) AS rank
                      FROM matches WHERE {col} = ANY(%s)) ranked
                WHERE rank <= %s GROUP BY {col}""",
            [list(ids), k],
        ).fetchall()
    )


def top_matches(conn: psycopg.Connection, ent: Entity, key: str, k: int = 3
                ) -> list[tuple[str, float, float, float]]:
    """The best k (other id, score, cosine, skill overlap) stored for one entity."""
    col, other_col = ent.id_column, ent.other.id_column
    return conn.execute(
        f"""SELECT {other_col}, score, cosine, skill_overlap FROM matches
            WHERE {col} = %s ORDER BY score DESC, {other_col} LIMIT %s""",
        [key, k],
    ).fetchall()


def vector_versions(conn: psycopg.Connection, ent: Entity, ids: Sequence[str]) -> dict[str, str]:
    """id -> data version of its stored vector, for the ids that have one."""
    return dict(
        conn.execute(
            f"SELECT {ent.id_column}, data_version FROM {ent.vector_table} "
            f"WHERE {ent.id_column} = ANY(%s)",
            [list(ids)],
        ).fetchall()
    )
