"""Reading and writing the talent tables in bulk: one round trip per batch, never per row."""

from __future__ import annotations

import functools
import select
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import psycopg
import scipy.sparse as sp
from psycopg import sql
from psycopg.types.json import Jsonb

from talentflow.talent import lexical, matching
from talentflow.talent.entities import Entity
from talentflow.talent.lexical import LexicalVector
from talentflow.talent.profile import SENIORITY_LEVELS, NormalizedProfile

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
    """What matching needs of one side (all embedded entities, or the given ids), id-ordered,
    as Python objects; with their vectors' data versions if asked. For a few entities (the
    new or changed ones): a full match streams the whole other side instead (stream_side)."""
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


def load_skills(conn: psycopg.Connection, ent: Entity, ids: Sequence[str]
                ) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """id -> (skills, must-have skills) of the given normalized entities: what an explanation
    names of the other side, read for a top-K's entries only."""
    rows = conn.execute(
        f"SELECT {ent.id_column}, skills, must_have_skills FROM {ent.normalized_table} "
        f"WHERE {ent.id_column} = ANY(%s)", [list(ids)]).fetchall()
    return {r[0]: (tuple(r[1]), tuple(r[2])) for r in rows}


# --- one whole side, streamed ------------------------------------------------------------------
#
# A full match reads every entity of the other side (1M candidates and more). Python objects
# per row (`load_side`) cost ~80 us a row; instead one binary COPY streams the side and each
# chunk of rows is parsed with numpy straight into a `matching.Side` of matrices (no entities).
# The lexical arrays travel as one pgvector value (term ids as float4, exact below 2**24, then
# the weights, then a 0 so that an empty vector is never sent): pgvector's binary send is far
# cheaper for the server than int4[] and float4[] (1M rows: the whole COPY ~6 s of server CPU
# this way, ~9 s with the arrays as stored).

STREAM_ROWS = matching.TILE_ROWS  # rows per chunk: each is one tile of a full match
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_FIELDS = 5  # level, embedding, lexical, skills, id
assert lexical.HASH_BITS <= 24, "term ids travel as float4: exact up to 2**24"


class SideStream:
    """Every embedded entity of one side, `chunk_rows` at a time, as `matching.Side`s without
    entities (one binary COPY; iterate once), rows in the database's order of ids (its
    collation: matching.rank puts each chunk in code point order itself). With `prefetch`, a
    thread keeps reading the COPY (so the server keeps sending) while the caller parses and
    computes; the connection is that thread's until the iteration ends. `rows` counts the
    rows handed out."""

    def __init__(self, conn: psycopg.Connection, ent: Entity, *,
                 chunk_rows: int = STREAM_ROWS, prefetch: bool = True) -> None:
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        self.conn, self.ent, self.chunk_rows, self.prefetch = conn, ent, chunk_rows, prefetch
        self.rows = 0

    def __iter__(self) -> Iterator[matching.Side]:
        raw = _read_rows(self.conn, self.ent, self.chunk_rows)
        skill_ids: dict[bytes, int] = {}  # each distinct skill name is folded and hashed once
        buffer = _ChunkBuffer()
        batches = matching.one_ahead(raw) if self.prefetch else raw
        try:
            for rows in batches:
                chunk = _parse_rows(rows, skill_ids, buffer)
                self.rows += len(chunk)
                yield chunk
        finally:
            batches.close()  # a COPY left early is ended now, not when garbage collected


def stream_side(conn: psycopg.Connection, ent: Entity, *, chunk_rows: int = STREAM_ROWS,
                prefetch: bool = True) -> SideStream:
    """One whole side for a full match, streamed in chunks (see SideStream)."""
    return SideStream(conn, ent, chunk_rows=chunk_rows, prefetch=prefetch)


def _read_rows(conn: psycopg.Connection, ent: Entity, chunk_rows: int) -> Iterator[list]:
    """The COPY's rows (level, embedding, lexical, skills, id: binary), `chunk_rows` at a
    time, unparsed."""
    col = sql.Identifier(ent.id_column)
    levels = sql.SQL("ARRAY[{}]::text[]").format(
        sql.SQL(", ").join(sql.Literal(level) for level in SENIORITY_LEVELS))
    query = sql.SQL(
        """COPY (SELECT coalesce(array_position({levels}, n.seniority), 0)::int2,
                        v.embedding,
                        (v.lexical_terms::real[] || v.lexical_weights || 0::real)::vector,
                        n.skills, v.{col}
                 FROM {vectors} v JOIN {normalized} n USING ({col})
                 ORDER BY v.{col}) TO STDOUT (FORMAT BINARY)""").format(
        levels=levels, col=col, vectors=sql.Identifier(ent.vector_table),
        normalized=sql.Identifier(ent.normalized_table))
    with conn.cursor() as cur, cur.copy(query) as copy:
        yield from _copy_batches(conn.pgconn, chunk_rows)
        # The trailer was the last row: psycopg reads the COPY's result and is done.
        if copy.read():
            raise ValueError("data after the binary COPY trailer")


def _copy_batches(pgconn: psycopg.pq.abc.PGconn, size: int) -> Iterator[list]:
    """The rows of a binary COPY TO under way, up to its trailer, `size` at a time. Read from
    libpq itself: psycopg's `Copy.read` waits through a generator per row, ~10 us each (10 s
    a million); here a row costs a call and an append."""
    rows: list = []
    get, append = pgconn.get_copy_data, rows.append
    first = True
    while True:
        nbytes, data = get(1)  # 1: never block inside libpq
        if nbytes > 2 and not first:
            append(data)
            if len(rows) == size:
                yield rows
                rows = []
                append = rows.append
            continue
        if nbytes == 0:  # no whole row buffered: wait for the socket (the GIL is free)
            select.select([pgconn.socket], [], [])
            pgconn.consume_input()
            continue
        if nbytes < 0:
            raise psycopg.OperationalError("the binary COPY ended without its trailer: "
                                           + pgconn.get_error_message())
        if first:
            first = False
            data = _after_signature(data)
            if not len(data):
                continue
        if len(data) == 2 and bytes(data) == b"\xff\xff":
            break
        append(data)
        if len(rows) == size:
            yield rows
            rows = []
            append = rows.append
    if rows:
        yield rows


def _after_signature(data) -> memoryview:
    data = memoryview(data)
    if bytes(data[:len(_COPY_SIGNATURE)]) != _COPY_SIGNATURE:
        raise ValueError("binary COPY data does not start with PostgreSQL's signature")
    extension = int.from_bytes(data[15:19], "big")
    return data[19 + extension:]


def _u4(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Big-endian 4-byte words of `buf` at byte positions `pos`, as uint32."""
    return ((buf[pos].astype(np.uint32) << 24) | (buf[pos + 1].astype(np.uint32) << 16)
            | (buf[pos + 2].astype(np.uint32) << 8) | buf[pos + 3])


def _i4(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    return _u4(buf, pos).view(np.int32)


class _ChunkBuffer:
    """A chunk's rows copied into one reused buffer, row i at i * stride: fields at a fixed
    offset then read for every row at once through strided views. (Fresh memory of this
    size each chunk costs a page fault per 4 KB; joined rows would have no common stride.)"""

    # Room past the last row for a strided view of a lexical vector (pgvector: 16,000 dims).
    SLACK = 4 * 16_000 + 64

    def __init__(self) -> None:
        self.buf = np.zeros(0, dtype=np.uint8)

    def fill(self, rows: list, lengths: np.ndarray) -> tuple[np.ndarray, int]:
        stride = int(lengths.max())
        size = len(rows) * stride + self.SLACK
        if len(self.buf) < size:
            self.buf = np.zeros(size + size // 4, dtype=np.uint8)
        mv = memoryview(self.buf)
        at = 0
        for row in rows:
            mv[at:at + len(row)] = row
            at += stride
        return self.buf, stride

    @staticmethod
    def view(buf: np.ndarray, n: int, stride: int, offset: int, dtype: str,
             width: int | None = None) -> np.ndarray:
        """Field `dtype` at `offset` of every row: shape (n,), or (n, width) items."""
        item = np.dtype(dtype).itemsize
        shape, strides = ((n,), (stride,)) if width is None else ((n, width), (stride, item))
        return np.ndarray(shape, dtype=dtype, buffer=buf, offset=offset, strides=strides)


def _parse_rows(rows: list, skill_ids: dict[bytes, int], chunk: _ChunkBuffer
                ) -> matching.Side:
    """A chunk of binary COPY rows (level, embedding, lexical, skills, id) as a Side. The
    first three fields have a fixed offset in every row; skills and id are found per row,
    vectorized."""
    n = len(rows)
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=n)
    buf, stride = chunk.fill(rows, lengths)
    view = functools.partial(_ChunkBuffer.view, buf, n, stride)
    dims = int(view(12, ">i2")[0])
    lex_at = 16 + 4 * dims  # past the field count, the level and the embedding
    if not ((view(0, ">i2") == _FIELDS).all() and (view(2, ">i4") == 2).all()
            and (view(8, ">i4") == 4 + 4 * dims).all() and (view(12, ">i2") == dims).all()
            and (view(lex_at, ">i4") > 0).all()):
        raise ValueError("unexpected row layout in the streamed side (dense vectors of "
                         "several sizes?)")
    levels = view(6, ">i2").astype(np.int64) - 1
    vectors = view(16, ">f4", dims).astype(np.float32)
    lex_values = view(lex_at + 4, ">i2").astype(np.int64)  # 2n + 1
    lex = _lexical_rows(view, lex_at + 8, (lex_values - 1) // 2)
    base = np.arange(n, dtype=np.int64) * stride
    skills_at = base + lex_at + 4 + 4 + 4 * lex_values
    skills_len = _i4(buf, skills_at).astype(np.int64)
    id_at = skills_at + 4 + skills_len
    id_len = _i4(buf, id_at).astype(np.int64)
    if (skills_len < 0).any() or (id_len < 0).any() or not np.array_equal(
            id_at + 4 + id_len, base + lengths):
        raise ValueError("unexpected row layout in the streamed side")
    ids = _decoded(_strings(buf, id_at + 4, id_len))
    if (levels < 0).any():
        raise ValueError(f"{ids[np.argmax(levels < 0)]}: seniority is none of "
                         f"{', '.join(SENIORITY_LEVELS)}")
    skills = _skill_rows(buf, skills_at + 4, skill_ids)
    return matching.Side(ids.tolist(), vectors, lex, skills, levels)


def _lexical_rows(view: Callable[..., np.ndarray], at: int, count: np.ndarray
                  ) -> sp.csr_matrix:
    """The lexical vectors as CSR rows: each row's pgvector floats (at `at`) are its `count`
    term ids, then as many weights, then a 0."""
    n = len(count)
    width = int(count.max(initial=0))
    j = np.arange(2 * width)[np.newaxis, :]
    floats = view(at, ">f4", 2 * width)  # past each row's values: the next fields' bytes
    terms = floats[j < count[:, np.newaxis]].astype(np.int32)
    weights = floats[(j >= count[:, np.newaxis]) & (j < 2 * count[:, np.newaxis])]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(count, out=indptr[1:])
    return sp.csr_matrix((weights.astype(np.float32), terms, indptr),
                         shape=(n, 1 << lexical.HASH_BITS))


def _strings(buf: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """The byte strings buf[start:start+length] as a fixed-width bytes array ('S<width>')."""
    return _padded(buf, start, length).view(f"S{max(int(length.max(initial=0)), 1)}").ravel()


def _padded(buf: np.ndarray, start: np.ndarray, length: np.ndarray, multiple: int = 1
            ) -> np.ndarray:
    """buf[start:start+length] of each string as a row of zero-padded bytes."""
    width = max(int(length.max(initial=0)), 1)
    width += -width % multiple
    out = np.zeros((len(start), width), dtype=np.uint8)
    for j in range(int(length.max(initial=0))):
        has = np.flatnonzero(length > j)
        out[has, j] = buf[start[has] + j]
    return out


def _decoded(raw: np.ndarray) -> np.ndarray:
    """A bytes array of UTF-8 text as a str array (code point order = UTF-8 byte order)."""
    try:
        return raw.astype(f"U{raw.dtype.itemsize}")  # ASCII, the common case: vectorized
    except UnicodeDecodeError:
        return np.asarray([b.decode("utf-8") for b in raw.tolist()],
                          dtype=f"U{raw.dtype.itemsize}")


def _skill_rows(buf: np.ndarray, at: np.ndarray, skill_ids: dict[bytes, int]
                ) -> sp.csr_matrix:
    """The skills (text[] at `at`) as multi-hot CSR rows of folded, hashed names, as
    matching.skill_matrix makes them. Elements are walked one index at a time across every
    row; names are told apart by a hash of their bytes (checked: equal hashes, equal bytes),
    and each distinct name is folded and hashed once."""
    n_rows = len(at)
    ndim = _i4(buf, at)
    if ((ndim != 0) & (ndim != 1)).any():
        raise ValueError("skills must be one-dimensional arrays")
    one = np.flatnonzero(ndim == 1)
    count = np.zeros(n_rows, dtype=np.int64)
    count[one] = _i4(buf, at[one] + 12)
    rows, starts, lengths = [], [], []
    pos = at + 20
    for j in range(int(count.max(initial=0))):
        live = np.flatnonzero(count > j)
        length = _i4(buf, pos[live]).astype(np.int64)
        if (length < 0).any():
            raise ValueError("unexpected NULL skill")
        rows.append(live)
        starts.append(pos[live] + 4)
        lengths.append(length)
        pos[live] += 4 + length
    if not rows:
        return matching.skill_matrix([()] * n_rows)
    row = np.concatenate(rows)
    padded = _padded(buf, np.concatenate(starts), np.concatenate(lengths), multiple=8)
    words = padded.view(np.uint64)
    key = np.zeros(len(words), dtype=np.uint64)
    for c in range(words.shape[1]):  # a polynomial hash of the 8-byte words
        key = key * np.uint64(0x9E3779B97F4A7C15) + words[:, c]
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    if not (padded == padded[first[inverse]]).all():  # a collision: tell names apart exactly
        _, first, inverse = np.unique(padded.view(f"S{padded.shape[1]}").ravel(),
                                      return_index=True, return_inverse=True)
        inverse = inverse.ravel()
    names = padded[first].view(f"S{padded.shape[1]}").ravel().tolist()
    term = np.asarray([_skill_id(name, skill_ids) for name in names], dtype=np.int64)[inverse]
    keys = np.sort((row << 32) | term)
    keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])]  # one entry per skill
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys >> 32, minlength=n_rows), out=indptr[1:])
    return sp.csr_matrix((np.ones(len(keys), dtype=np.float32),
                          (keys & 0xFFFFFFFF).astype(np.int32), indptr),
                         shape=(n_rows, 1 << lexical.HASH_BITS))


def _skill_id(name: bytes, skill_ids: dict[bytes, int]) -> int:
    tid = skill_ids.get(name)
    if tid is None:
        tid = skill_ids[name] = lexical.term_id(matching.fold_skill(name.decode("utf-8")))
    return tid


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
