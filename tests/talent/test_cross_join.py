"""The incremental cross-join keeps every entity's stored top-K exactly equal to brute force,
through arrivals on both sides and through changed vectors (real PostgreSQL + pgvector)."""

from __future__ import annotations

import numpy as np
import psycopg
from pgvector.psycopg import register_vector

from talentflow.talent import matching, store, vocabulary
from talentflow.talent.cross_join import cross_join
from talentflow.talent.entities import CANDIDATE, JOB

K = 2
SKILLS = list(vocabulary.default().names[:12])


def _put(conn, ent, key, rng) -> None:
    vec = rng.normal(size=384).astype(np.float32)
    vec /= np.linalg.norm(vec)
    skills = list(rng.choice(SKILLS, size=int(rng.integers(0, 5)), replace=False))
    if ent is CANDIDATE:
        conn.execute("INSERT INTO candidates (id, name, cv_text) VALUES (%s, 'n', 't') "
                     "ON CONFLICT DO NOTHING", [key])
    else:
        conn.execute("INSERT INTO jobs (id, title, description) VALUES (%s, 't', 'd') "
                     "ON CONFLICT DO NOTHING", [key])
    conn.execute(
        f"""INSERT INTO {ent.normalized_table} ({ent.id_column}, title, seniority,
                years_experience, skills, remote, summary, provider, model, data_version)
            VALUES (%s, 't', 'mid', 1, %s, false, 's', 'test', 'test', %s)
            ON CONFLICT ({ent.id_column}) DO UPDATE SET skills = EXCLUDED.skills,
                data_version = EXCLUDED.data_version""",
        [key, skills, str(rng.random())],
    )
    store.upsert_vectors(conn, ent, [key], vec[None, :], "test", [str(rng.random())])


def _brute_force(conn, ent) -> dict[str, list[str]]:
    mine, other = store.load_side(conn, ent), store.load_side(conn, ent.other)
    if ent is CANDIDATE:
        score = matching.scores(mine, other)[0]
    else:
        score = matching.scores(other, mine)[0].T
    out = {}
    for row, key in enumerate(mine.ids):
        order = sorted(range(len(other.ids)), key=lambda c: (-score[row, c], other.ids[c]))
        out[key] = [other.ids[c] for c in order[:K]]
    return out


def _stored(conn, ent) -> dict[str, list[str]]:
    side = store.load_side(conn, ent)
    return {key: [r[0] for r in store.top_matches(conn, ent, key, K)] for key in side.ids}


def _run(db: str, steps, seed: int) -> None:
    rng = np.random.default_rng(seed)
    with psycopg.connect(db) as conn:
        register_vector(conn)
        for ent, keys in steps:
            for key in keys:
                _put(conn, ent, key, rng)
            result = cross_join(conn, ent, keys, k=K)
            assert sorted(result.matched) == sorted(keys)
            for side in (CANDIDATE, JOB):
                expected = _brute_force(conn, side)
                stored = _stored(conn, side)
                # scores are stored as real (float4): compare ids, ties are vanishingly rare
                assert stored == expected, f"{side.kind} lists diverged after {keys}"


def test_incremental_cross_join_equals_brute_force(db: str) -> None:
    _run(db, [
            (CANDIDATE, [f"c{i}" for i in range(6)]),
            (JOB, [f"j{i}" for i in range(5)]),
            (CANDIDATE, [f"c{i}" for i in range(6, 9)]),
            (JOB, ["j5", "j6"]),
            (CANDIDATE, ["c1", "c4"]),  # changed vectors: holes in job lists must be refilled
            (JOB, ["j0", "j7"]),  # one changed, one new, in the same batch
    ], seed=7)


def test_changed_entities_refill_the_lists_they_leave(db: str) -> None:
    # Few candidates, many jobs: most job lists hold exactly K pairs, so removing a changed
    # candidate leaves holes that only the full recompute of those jobs can fill.
    _run(db, [
        (CANDIDATE, [f"c{i}" for i in range(4)]),
        (JOB, [f"j{i}" for i in range(30)]),
        (CANDIDATE, ["c1", "c2"]),
        (JOB, ["j3", "j40", "j41"]),
        (CANDIDATE, ["c0", "c9"]),
    ], seed=11)
