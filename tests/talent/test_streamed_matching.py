"""Full matches over a side that comes in chunks, and over a side read from PostgreSQL.

`matching.rank` (behind `top_k` and `cross_join.full_lists`) keeps a running top-K per new
entity while the other side arrives chunk by chunk (store.stream_side reads it with one binary
COPY). Whatever the chunk sizes and their order, the lists must be exactly those of the whole
side in one piece: same ids in the same order, same scores and features to the last bit, ties
broken by id in code point order across chunks. The oracle of test_cross_join (no talentflow
code) judges the lists themselves.

The database tests (real PostgreSQL + pgvector, a fresh database each) write entities into
the real tables (the vectors with the production
writer, store.upsert_vectors) and compare what `stream_side` parses from the COPY bytes with
what `load_side` reads through psycopg's loaders, and what `tasks.match.match_in_full` (the
pipeline's full path) stores with `full_lists` over the loaded side.
"""

from __future__ import annotations

import numpy as np
import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talentflow.db import connect
from talentflow.talent import matching, store
from talentflow.talent.cross_join import full_lists
from talentflow.talent.entities import CANDIDATE, JOB, Entity
from talentflow.talent.matching import Side, Weights, rank, top_k
from talentflow.talent.value_stores import EmbeddedEntity
from tests.talent.test_cross_join import (
    OWN,
    W_EXACT,
    WEIGHTS,
    Entities,
    Item,
    assert_lists,
    entities,
    exact,
    oracle,
)


def chunked(side: Side, sizes: list[int]) -> list[Side]:
    """The side's rows in consecutive chunks of these sizes (the last one takes the rest)."""
    out, at = [], 0
    for size in sizes:
        if at >= len(side):
            break
        out.append(side.take(range(at, min(at + size, len(side)))))
        at += size
    if at < len(side):
        out.append(side.take(range(at, len(side))))
    return out


def shuffled(side: Side, rng: np.random.Generator) -> Side:
    return side.take(rng.permutation(len(side)))


# ---------------------------------------------------------------- chunks, no database

@pytest.mark.parametrize("own_is_candidate", [True, False])
@pytest.mark.parametrize("sizes", [[1], [2, 5], [7], [40]], ids=["1", "2-5", "7", "40"])
@pytest.mark.parametrize(("head_sample", "tile"), [(matching.HEAD_SAMPLE_ROWS,
                                                    matching.TILE_ROWS), (10, 16)])
def test_chunks_of_any_size_give_the_lists_of_one_chunk(
        own_is_candidate: bool, sizes: list[int], head_sample: int, tile: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny chunks (one row each) and uneven ones; the side in one tile, or in tiles of 16
    rows that the chunks cut through, with a head from its first 10 rows."""
    monkeypatch.setattr(matching, "HEAD_SAMPLE_ROWS", head_sample)
    monkeypatch.setattr(matching, "TILE_ROWS", tile)
    monkeypatch.setattr(matching, "CHUNK_ROWS", 16)  # several blocks of new rows too
    rng = np.random.default_rng(41)
    own, other = entities(rng, "o", 45, 384), entities(rng, "x", 97, 384)
    whole = full_lists(own.side(), other.side(), own_is_candidate=own_is_candidate,
                       weights=WEIGHTS[0], k=10)
    got = full_lists(own.side(), chunked(other.side(), sizes * 100),
                     own_is_candidate=own_is_candidate, weights=WEIGHTS[0], k=10)
    assert got == whole  # every id, score, feature and name, bit for bit
    assert_lists(got, oracle(own, other, own_is_candidate=own_is_candidate,
                             weights=WEIGHTS[0]), 10)


@pytest.mark.parametrize("own_is_candidate", [True, False])
def test_ties_across_chunks_go_to_the_lowest_ids_whatever_the_order(
        own_is_candidate: bool) -> None:
    """300 equal scores (two profiles) and K=3, the rows shuffled and cut into chunks of 7:
    the three lowest ids win, in code point order; ids whose code point order is not their
    alphabetical one (B < a < m < z < é) too."""
    rng = np.random.default_rng(42)
    other = exact([("0-far", "low")] + [(f"dup{i:03d}", "lex" if i % 3 else "mid")
                                        for i in range(300)])
    whole = full_lists(OWN.side(), other.side(), own_is_candidate=own_is_candidate,
                       weights=W_EXACT, k=3)
    assert whole["me"].ids == ("dup000", "dup001", "dup002")
    got = full_lists(OWN.side(), chunked(shuffled(other.side(), rng), [7] * 50),
                     own_is_candidate=own_is_candidate, weights=W_EXACT, k=3)
    assert got == whole

    letters = exact([("top", "high")] + [(i, "lex" if n % 2 else "mid")
                                         for n, i in enumerate(["a", "B", "é", "z", "m"])])
    want = ("top", "B", "a", "m", "z", "é")
    for sizes in ([1], [2], [4]):
        got = full_lists(OWN.side(), chunked(shuffled(letters.side(), rng), sizes * 6),
                         own_is_candidate=own_is_candidate, weights=W_EXACT, k=6)
        assert got["me"].ids == want
        assert_lists(got, oracle(OWN, letters.sorted(), own_is_candidate=own_is_candidate,
                                 weights=W_EXACT), 6, exact=True)


def test_top_k_columns_are_positions_in_the_chunks_one_after_another() -> None:
    rng = np.random.default_rng(43)
    own, other = entities(rng, "o", 6, 32), entities(rng, "x", 23, 32)
    side = shuffled(other.side(), rng)
    chunks = chunked(side, [5, 1, 9])
    best = top_k(own.side(), chunks, new_is_candidate=True, weights=WEIGHTS[1], k=4)
    want = oracle(own, other, own_is_candidate=True, weights=WEIGHTS[1])
    for i, key in enumerate(own.ids):
        assert [side.ids[c] for c in best.columns[i]] == [r.id for r in want[key][:4]]


def test_rank_counts_the_other_side_and_handles_empty_chunks() -> None:
    rng = np.random.default_rng(44)
    own, other = entities(rng, "o", 4, 16), entities(rng, "x", 9, 16)
    empty = Entities((), 16).side()
    chunks = [empty, *chunked(other.side(), [4]), empty]
    ranked = rank(own.side(), chunks, new_is_candidate=False, weights=WEIGHTS[0], k=3)
    assert ranked.other_rows == 9
    got = full_lists(own.side(), chunks, own_is_candidate=False, weights=WEIGHTS[0], k=3)
    assert got == full_lists(own.side(), other.side(), own_is_candidate=False,
                             weights=WEIGHTS[0], k=3)
    assert full_lists(own.side(), [], own_is_candidate=False, weights=WEIGHTS[0], k=3) == {
        key: full_lists(own.side(), empty, own_is_candidate=False, weights=WEIGHTS[0],
                        k=3)[key] for key in own.ids}


def test_full_lists_need_names_for_a_side_without_entities() -> None:
    rng = np.random.default_rng(45)
    own, other = entities(rng, "o", 3, 16), entities(rng, "x", 8, 16)
    bare = other.side()
    bare = Side(bare.ids, bare.vectors, bare.lexical, bare.skills, bare.levels)
    with pytest.raises(ValueError, match="skills_of"):
        full_lists(own.side(), bare, own_is_candidate=True, weights=WEIGHTS[0], k=2)
    asked: list[list[str]] = []
    by_id = {x.id: x for x in other.items}

    def skills_of(ids):
        asked.append(list(ids))
        return {i: (by_id[i].skills, by_id[i].must_haves) for i in ids}

    got = full_lists(own.side(), [bare], own_is_candidate=True, weights=WEIGHTS[0], k=2,
                     skills_of=skills_of)
    assert got == full_lists(own.side(), other.side(), own_is_candidate=True,
                             weights=WEIGHTS[0], k=2)
    # One call, for the entries' ids alone.
    assert len(asked) == 1
    assert set(asked[0]) == {m.id for lst in got.values() for m in lst.matches}


weight = st.one_of(st.just(0.0), st.floats(0.01, 1.0))


@settings(max_examples=40, deadline=None)
@given(n_own=st.integers(1, 20), n_other=st.integers(0, 40), d=st.sampled_from([3, 16]),
       k=st.integers(1, 12), sizes=st.lists(st.integers(1, 9), min_size=1, max_size=8),
       tile=st.integers(1, 12), own_is_candidate=st.booleans(),
       w=st.tuples(weight, weight, weight, weight), seed=st.integers(0, 2**32 - 1))
def test_any_chunking_gives_the_lists_of_the_whole_side(
        n_own: int, n_other: int, d: int, k: int, sizes: list[int], tile: int,
        own_is_candidate: bool, w: tuple[float, float, float, float], seed: int) -> None:
    """Bit for bit in the same order of rows; in any other order, the oracle's lists (a
    shuffled side makes other products: float32 sums may differ in their last bit)."""
    rng = np.random.default_rng(seed)
    own, other = entities(rng, "o", n_own, d), entities(rng, "x", n_other, d)
    weights = Weights(*w)
    want = oracle(own, other, own_is_candidate=own_is_candidate, weights=weights)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(matching, "TILE_ROWS", tile)
        whole = full_lists(own.side(), other.side(), own_is_candidate=own_is_candidate,
                           weights=weights, k=k)
        got = full_lists(own.side(), chunked(other.side(), sizes),
                         own_is_candidate=own_is_candidate, weights=weights, k=k)
        assert got == whole
        assert_lists(got, want, k)
        got = full_lists(own.side(), chunked(shuffled(other.side(), rng), sizes),
                         own_is_candidate=own_is_candidate, weights=weights, k=k)
        assert_lists(got, want, k)


# ---------------------------------------------------------------- read from PostgreSQL

def write(conn: psycopg.Connection, ent: Entity, items: list[Item]) -> None:
    """Source rows, normalized rows (plain SQL) and vectors (the production writer), in one
    transaction (the writer's temporary tables live until its commit)."""
    with conn.transaction():
        _write(conn, ent, items)


def _write(conn: psycopg.Connection, ent: Entity, items: list[Item]) -> None:
    for x in items:
        if ent.kind == "candidate":
            conn.execute("INSERT INTO candidates (id, name, cv_text) VALUES (%s, %s, %s)",
                         [x.id, f"name {x.id}", "text"])
        else:
            conn.execute("INSERT INTO jobs (id, title, description) VALUES (%s, %s, %s)",
                         [x.id, f"title {x.id}", "text"])
        conn.execute(
            f"INSERT INTO {ent.normalized_table} ({ent.id_column}, title, seniority, "
            "years_experience, skills, remote, summary, provider, model, data_version, "
            "must_have_skills) VALUES (%s, 't', %s, 1, %s, false, '', 'p', 'm', 'v', %s)",
            [x.id, x.level, list(x.skills), list(x.must_haves)])
    store.upsert_vectors(conn, ent, [
        (x.id, EmbeddedEntity(x.entity(), np.zeros((0, 384), np.float32), "m"), "v")
        for x in items])


def varied(rng: np.random.Generator, prefix: str, n: int) -> list[Item]:
    """Entities with ids whose code point order is not alphabetical, empty lexical vectors
    and skill lists, long and non-ASCII skill names."""
    items = list(entities(rng, prefix, n, 384).items)
    odd = [f"{prefix}-B", f"{prefix}-a", f"{prefix}-é", f"{prefix}-Z", f"{prefix}-日本"]
    for i, oid in enumerate(odd):
        items[i] = Item(oid, *(getattr(items[i], f) for f in
                               ("vector", "terms", "skills", "must_haves", "level")))
    items[5] = Item(items[5].id, items[5].vector, {}, (), (), "executive")
    items[6] = Item(items[6].id, items[6].vector, items[6].terms,
                    ("Gestión de proyectos", "Python", "  PYTHON ", "an unusually long skill "
                     "name that spans many eight-byte words", "sql", "Ünïcödé"),
                    ("python",), "intern")
    return items


def rows_by_id(side: Side) -> dict[str, tuple]:
    return {oid: (side.vectors[i].tobytes(), side.lexical[i].indices.tobytes(),
                  side.lexical[i].data.tobytes(), sorted(side.skills[i].indices.tolist()),
                  int(side.levels[i]))
            for i, oid in enumerate(side.ids)}


@pytest.mark.parametrize("chunk_rows", [1, 3, 1000])
@pytest.mark.parametrize("prefetch", [True, False])
def test_stream_side_reads_every_entity_as_load_side_does(db: str, chunk_rows: int,
                                                          prefetch: bool) -> None:
    rng = np.random.default_rng(46)
    with connect(autocommit=True) as conn:
        write(conn, CANDIDATE, varied(rng, "c", 20))
        loaded = store.load_side(conn, CANDIDATE)
        stream = store.stream_side(conn, CANDIDATE, chunk_rows=chunk_rows, prefetch=prefetch)
        chunks = list(stream)
        assert stream.rows == 20 == len(loaded)
        assert [len(c) for c in chunks][:-1] == [chunk_rows] * (len(chunks) - 1)
        assert all(c.entities is None for c in chunks)
        got: dict[str, tuple] = {}
        for chunk in chunks:
            got.update(rows_by_id(chunk))
        assert got == rows_by_id(loaded)
        assert conn.execute("SELECT 1").fetchone() == (1,)  # the COPY is over


def test_match_in_full_stores_what_full_lists_gives_over_the_loaded_side(
        db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pipeline's full path: the other side streamed in chunks of 4, the winners' names
    read afterwards; the lists equal full_lists over the side loaded whole, bit for bit."""
    from tasks.match import match_in_full

    monkeypatch.setattr(matching, "HEAD_SAMPLE_ROWS", 9)  # the chunks cut through it
    rng = np.random.default_rng(47)
    with connect(autocommit=True) as conn:
        write(conn, CANDIDATE, varied(rng, "c", 30))
        write(conn, JOB, varied(rng, "j", 12))
        for ent in (CANDIDATE, JOB):
            own = store.load_side(conn, ent)
            lists, n_other = match_in_full(conn, ent, own, weights=WEIGHTS[1], k=5,
                                           chunk_rows=4)
            other = store.load_side(conn, ent.other)
            assert n_other == len(other)
            assert lists == full_lists(own, other, own_is_candidate=ent.kind == "candidate",
                                       weights=WEIGHTS[1], k=5)
            assert all(isinstance(m.id, str) for lst in lists.values() for m in lst.matches)
            assert any(m.shared_skills for lst in lists.values() for m in lst.matches)


@pytest.mark.parametrize("prefetch", [True, False])
def test_a_stream_left_early_leaves_the_connection_usable(db: str, prefetch: bool) -> None:
    rng = np.random.default_rng(48)
    with connect(autocommit=True) as conn:
        write(conn, JOB, varied(rng, "j", 15))
        stream = iter(store.stream_side(conn, JOB, chunk_rows=2, prefetch=prefetch))
        first = next(stream)
        assert len(first) == 2
        stream.close()  # type: ignore[attr-defined]
        assert conn.execute("SELECT count(*) FROM job_vectors").fetchone() == (15,)
        assert sum(len(c) for c in store.stream_side(conn, JOB, prefetch=prefetch)) == 15


@pytest.mark.parametrize("prefetch", [True, False])
def test_an_unknown_seniority_is_reported_with_its_id(db: str, prefetch: bool) -> None:
    rng = np.random.default_rng(49)
    with connect(autocommit=True) as conn:
        write(conn, JOB, varied(rng, "j", 8))
        conn.execute("UPDATE normalized_jobs SET seniority = 'guru' WHERE job_id = 'j0007'")
        with pytest.raises(ValueError, match="j0007: seniority is none of"):
            list(store.stream_side(conn, JOB, chunk_rows=3, prefetch=prefetch))
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_an_empty_side_streams_no_chunk(db: str) -> None:
    with connect(autocommit=True) as conn:
        stream = store.stream_side(conn, CANDIDATE)
        assert list(stream) == [] and stream.rows == 0
        from tasks.match import match_in_full

        jobs = entities(np.random.default_rng(50), "j", 3, 384)
        lists, n_other = match_in_full(conn, JOB, jobs.side(), weights=WEIGHTS[0])
        assert n_other == 0 and all(len(lst) == 0 for lst in lists.values())


def test_a_match_that_fails_midway_ends_its_copy(db: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader and preparer threads stop and the COPY is ended before the error reaches
    the caller, whose connection is then free again."""
    from tasks.match import match_in_full

    calls = 0
    real = matching.product

    def failing(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("boom")
        return real(*args, **kwargs)

    monkeypatch.setattr(matching, "product", failing)
    monkeypatch.setattr(matching, "TILE_ROWS", 3)
    rng = np.random.default_rng(51)
    with connect(autocommit=True) as conn:
        write(conn, CANDIDATE, varied(rng, "c", 40))
        jobs = entities(rng, "j", 2, 384)
        with pytest.raises(RuntimeError, match="boom"):
            match_in_full(conn, JOB, jobs.side(), weights=WEIGHTS[0], chunk_rows=3)
        assert conn.execute("SELECT count(*) FROM candidate_vectors").fetchone() == (40,)
