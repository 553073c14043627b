"""Matching maths: the exact top-K of a fused score between two sides, in numpy and scipy.

Why not pgvector for the cross-join: on this machine, 1,000 new x 100,000 existing vectors
took 1.3 s as chunked float32 matrix products (exact, recall 1.0) against 155 s for one SQL
LATERAL query with an exact scan, and HNSW gave recall 0.06-0.6 (see PREFECT_NOTES). So a
batch of new entities is a few matrix products against the other side, and results are exact.

The score of a (candidate, job) pair is a weighted sum of four features, each a function of
the two entities alone (so a stored top-K list can be updated from what changed, and stays
exact; see cross_join.py):

    dense      cosine of the two dense vectors (profile + every chunk of the raw text)
    lexical    cosine of the two lexical vectors (lexical.py: stemmed terms, language IDF)
    skills     |skills(c) & skills(j)| / |skills(j)|, counted only when BOTH sides have at
               least MIN_SKILLS skills (one shared "Excel" must not decide a ranking)
    seniority  1 - |level(c) - level(j)| / 3, floored at 0 (intern .. executive)

    score = Weights.dense * dense + Weights.lexical * lexical + ...

The weights are fitted on the project's labelled corpus with cross-validation (fusion.py),
not set by hand. Every feature is a (sparse) matrix product or a gather, so the top-K is exact
for the fused score, not a rerank of a shortlist.

A full match (`rank`, `top_k`) takes the other side whole or as chunks, e.g. streamed from
PostgreSQL (store.stream_side): 1,000 jobs against 1,000,000 candidates run in bounded memory
(bench/match_scale.py).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from typing import TypeVar

import numpy as np
import scipy.sparse as sp

from talentflow.talent import lexical
from talentflow.talent.profile import SENIORITY_LEVELS

DEFAULT_TOP_K = 10
# Rows of the new side per product: memory is a few CHUNK_ROWS x len(other) float32 arrays.
CHUNK_ROWS = 512
MIN_SKILLS = 3
FEATURES: tuple[str, ...] = ("dense", "lexical", "skills", "seniority")

_LEVELS = np.arange(len(SENIORITY_LEVELS))
# Seniority fit by level distance: same level 1, one apart 2/3, two 1/3, further 0.
SENIORITY_FIT = np.clip(
    1.0 - np.abs(_LEVELS[:, np.newaxis] - _LEVELS[np.newaxis, :]) / 3.0, 0.0, 1.0
).astype(np.float32)


@dataclass(frozen=True)
class Weights:
    """How much each feature counts in the score."""

    dense: float
    lexical: float
    skills: float
    seniority: float

    def as_array(self) -> np.ndarray:
        return np.asarray([getattr(self, f) for f in FEATURES], dtype=np.float32)

    @classmethod
    def from_array(cls, values: Sequence[float]) -> Weights:
        return cls(**{f: float(v) for f, v in zip(FEATURES, values, strict=True)})


assert tuple(f.name for f in fields(Weights)) == FEATURES


@functools.lru_cache(maxsize=1 << 16)  # a few thousand names, folded for every explanation
def fold_skill(name: str) -> str:
    """How two skill names are compared: case and spacing do not matter."""
    return " ".join(name.lower().split())


@dataclass(frozen=True)
class Entity:
    """What matching needs of one candidate or job."""

    vector: np.ndarray  # unit dense vector
    lexical: lexical.LexicalVector
    skills: tuple[str, ...]
    must_have_skills: tuple[str, ...]
    seniority: str


@dataclass(frozen=True)
class Side:
    """One side of the cross-join as matrices, rows in `ids` order."""

    ids: Sequence[str]
    vectors: np.ndarray  # (n, d) float32 unit vectors
    lexical: sp.csr_matrix  # (n, 2**HASH_BITS) unit rows
    skills: sp.csr_matrix  # (n, 2**HASH_BITS) multi-hot of folded skill names
    levels: np.ndarray  # (n,) seniority index
    # The entities themselves (skill names for explanations); None for a side streamed as
    # matrices alone (store.stream_side), whose winners' names are read afterwards.
    entities: Sequence[Entity] | None = None
    versions: Sequence[str] | None = None  # the entities' data versions, if loaded

    def __post_init__(self) -> None:
        n = len(self.ids)
        if not (len(self.vectors) == self.lexical.shape[0] == self.skills.shape[0]
                == len(self.levels) == n
                and (self.entities is None or len(self.entities) == n)):
            raise ValueError("every part of a Side must have one row per id")

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def of(cls, ids: Sequence[str], entities: Sequence[Entity],
           versions: Sequence[str] | None = None, dims: int = 384) -> Side:
        vectors = (np.vstack([np.asarray(e.vector, dtype=np.float32) for e in entities])
                   if entities else np.zeros((0, dims), dtype=np.float32))
        return cls(list(ids), vectors, lexical.matrix([e.lexical for e in entities]),
                   skill_matrix([e.skills for e in entities]),
                   np.asarray([SENIORITY_LEVELS.index(e.seniority) for e in entities],
                              dtype=np.int64),
                   list(entities), versions)

    @classmethod
    def concat(cls, parts: Sequence[Side]) -> Side:
        """The rows of `parts`, one after another (entities kept if every part has them)."""
        return cls([i for p in parts for i in p.ids],
                   np.vstack([p.vectors for p in parts]),
                   sp.vstack([p.lexical for p in parts], format="csr"),
                   sp.vstack([p.skills for p in parts], format="csr"),
                   np.concatenate([p.levels for p in parts]),
                   None if any(p.entities is None for p in parts)
                   else [e for p in parts for e in p.entities],
                   None if any(p.versions is None for p in parts)
                   else [v for p in parts for v in p.versions])

    def take(self, rows: Sequence[int] | np.ndarray) -> Side:
        rows = np.asarray(rows, dtype=np.int64)
        return Side([self.ids[i] for i in rows], self.vectors[rows], self.lexical[rows],
                    self.skills[rows], self.levels[rows],
                    None if self.entities is None else [self.entities[i] for i in rows],
                    None if self.versions is None else [self.versions[i] for i in rows])


def skill_matrix(skill_lists: Sequence[Sequence[str]]) -> sp.csr_matrix:
    """Multi-hot CSR matrix of folded skill names (hashed like lexical terms)."""
    rows = [sorted({lexical.term_id(fold_skill(s)) for s in skills}) for skills in skill_lists]
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in rows], out=indptr[1:])
    indices = np.fromiter((c for r in rows for c in r), dtype=np.int32, count=int(indptr[-1]))
    return sp.csr_matrix((np.ones(len(indices), dtype=np.float32), indices, indptr),
                         shape=(len(rows), 1 << lexical.HASH_BITS))


def _scaled_rows(matrix: sp.csr_matrix, factors: np.ndarray) -> sp.csr_matrix:
    """Each row of a CSR matrix times its factor (no diagonal matrix over 2**24 columns)."""
    out = matrix.copy()
    out.data = out.data * np.repeat(factors.astype(np.float32), np.diff(out.indptr))
    return out


def _skill_gates(side: Side) -> tuple[np.ndarray, np.ndarray]:
    """(0/1 gate, 1/count or 0) per row: skills count only from MIN_SKILLS up."""
    count = np.diff(side.skills.indptr)
    gate = (count >= MIN_SKILLS).astype(np.float32)
    return gate, np.where(count >= MIN_SKILLS, 1.0 / np.maximum(count, 1), 0.0)


def _coverage(candidates: Side, jobs: Side) -> sp.csr_matrix:
    """Gated skill coverage, sparse (candidates x jobs)."""
    c_gate, _ = _skill_gates(candidates)
    _, j_scale = _skill_gates(jobs)
    return _scaled_rows(candidates.skills, c_gate) @ _scaled_rows(jobs.skills, j_scale).T


# --- the fused score as one dense product plus two sparse tails -------------------------------
#
# A sparse product costs per pair of entries sharing a term, so common terms ("sales",
# "Excel") make it nearly dense and slow. The HEAD terms (the most frequent on the large side)
# are therefore handled densely, inside the same BLAS product as the dense vectors and the
# seniority fit (concatenated columns); only the rare TAIL terms stay sparse. The split does
# not change the result: score = dense part + tail part, whichever terms are in the head.

HEAD_TERMS = 128  # at most this many lexical and skill terms each are handled densely
HEAD_MIN_SHARE = 0.005  # a term joins the head if at least this share of rows has it
SKINNY_ROWS = 64


@dataclass(frozen=True)
class Head:
    lexical: np.ndarray  # sorted term ids handled densely
    skills: np.ndarray


def _common_terms(matrix: sp.csr_matrix) -> np.ndarray:
    if matrix.shape[0] == 0 or matrix.nnz == 0:
        return np.zeros(0, dtype=np.int32)
    df = np.bincount(matrix.indices, minlength=matrix.shape[1])
    common = np.flatnonzero(df >= max(2, HEAD_MIN_SHARE * matrix.shape[0]))
    if len(common) > HEAD_TERMS:
        common = common[np.argpartition(-df[common], HEAD_TERMS - 1)[:HEAD_TERMS]]
    return np.sort(common).astype(np.int32)


def head_of(side: Side) -> Head:
    """The terms of `side` handled densely (its most frequent ones)."""
    return Head(_common_terms(side.lexical), _common_terms(side.skills))


@dataclass(frozen=True)
class Columns:
    """Where each term of one feature goes in a streamed top-K's products (`rank`): its
    column in the head (0..head-1), head + its column in the tail, or -1: dropped, as no new
    entity has it in its tail (it can meet nothing there)."""

    terms: np.ndarray  # sorted term ids with a column
    codes: np.ndarray  # their columns
    head: int
    tail: int
    table: np.ndarray | None = None  # the columns of the whole term space, for large sides

    @classmethod
    def of(cls, head: np.ndarray, tail: np.ndarray, *, table: bool) -> Columns:
        """`table`: look up through a table over the term space (64 MB, built in ~0.1 s;
        then ~4x faster than a binary search: worth it for a large other side)."""
        terms = np.concatenate([head, tail]).astype(np.int32)
        codes = np.arange(len(terms), dtype=np.int32)
        order = np.argsort(terms, kind="stable")
        out = cls(terms[order], codes[order], len(head), len(tail))
        if table:
            full = np.full(1 << lexical.HASH_BITS, -1, dtype=np.int32)
            full[out.terms] = out.codes
            out = replace(out, table=full)
        return out

    def lookup(self, indices: np.ndarray) -> np.ndarray:
        if self.table is not None:
            return self.table[indices]
        if not len(self.terms):
            return np.full(len(indices), -1, dtype=np.int32)
        pos = np.minimum(np.searchsorted(self.terms, indices), len(self.terms) - 1)
        return np.where(self.terms[pos] == indices, self.codes[pos], -1)


def _split(matrix: sp.csr_matrix, head: np.ndarray, columns: Columns | None = None
           ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], sp.csr_matrix]:
    """((row, head column, value) of the head entries, the rest as CSR): with `columns`,
    the rest renumbered to its tail columns (terms it drops left out)."""
    n = matrix.shape[0]
    rows = np.repeat(np.arange(n), np.diff(matrix.indptr))
    if columns is None:
        pos = np.minimum(np.searchsorted(head, matrix.indices), max(len(head) - 1, 0))
        in_head = (head[pos] == matrix.indices) if len(head) else np.zeros(matrix.nnz, bool)
        keep = ~in_head
        tail_indices, width = matrix.indices[keep], matrix.shape[1]
    else:
        pos = columns.lookup(matrix.indices)
        in_head = (pos >= 0) & (pos < columns.head)
        keep = pos >= columns.head
        tail_indices, width = pos[keep] - columns.head, max(columns.tail, 1)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows[keep], minlength=n), out=indptr[1:])
    tail = sp.csr_matrix((matrix.data[keep], tail_indices, indptr), shape=(n, width))
    return (rows[in_head], pos[in_head], matrix.data[in_head]), tail


@dataclass(frozen=True)
class Operands:
    """One side ready for the product: one side carries the weights (the candidates', unless
    told otherwise), the job side the skills scaling."""

    dense: np.ndarray  # [dense vector | seniority | head lexical | head skills]
    lexical_tail: sp.csr_matrix | None
    skills_tail: sp.csr_matrix | None
    # The tails transposed once (CSR of the transpose), for a side that is the right
    # operand of many products (`transposed`); else products transpose as they go.
    lexical_tail_t: sp.csr_matrix | None = None
    skills_tail_t: sp.csr_matrix | None = None

    def transposed(self) -> Operands:
        return replace(self,
                       lexical_tail_t=None if self.lexical_tail is None
                       else self.lexical_tail.T.tocsr(),
                       skills_tail_t=None if self.skills_tail is None
                       else self.skills_tail.T.tocsr())

    def rows(self, start: int, stop: int) -> Operands:
        return Operands(self.dense[start:stop],
                        *(None if m is None else m[start:stop]
                          for m in (self.lexical_tail, self.skills_tail)))


def operands(side: Side, *, as_candidate: bool, weights: Weights, head: Head,
             weighted: bool | None = None,
             columns: tuple[Columns, Columns] | None = None) -> Operands:
    """`side` as the candidates or the jobs of a product. The weights go on one side of a
    product: the candidates by default (`weighted`). With `columns` (lexical, skills) the
    tails keep only the terms numbered there."""
    w = weights
    weighted = as_candidate if weighted is None else weighted
    lex_head, lex_tail = _split(side.lexical, head.lexical, columns and columns[0])
    gate, scale = _skill_gates(side)
    factor = gate if as_candidate else scale
    sk_head, sk_tail = _split(_scaled_rows(side.skills, factor), head.skills,
                              columns and columns[1])
    n, d, levels = len(side), side.vectors.shape[1], len(SENIORITY_LEVELS)
    at_lex, at_sk = d + levels, d + levels + len(head.lexical)
    dense = np.zeros((n, at_sk + len(head.skills)), dtype=np.float32)
    seniority = (SENIORITY_FIT[side.levels] if as_candidate
                 else np.eye(levels, dtype=np.float32)[side.levels])
    scale_by = ((w.dense, w.seniority, w.lexical, w.skills) if weighted else (1, 1, 1, 1))
    dense[:, :d] = side.vectors * np.float32(scale_by[0]) if weighted else side.vectors
    dense[:, d:at_lex] = seniority * np.float32(scale_by[1]) if weighted else seniority
    for (rows, cols, values), at, by in ((lex_head, at_lex, scale_by[2]),
                                         (sk_head, at_sk, scale_by[3])):
        dense[rows, at + cols] = values * np.float32(by) if weighted else values
    if weighted:
        lex_tail, sk_tail = lex_tail * np.float32(w.lexical), sk_tail * np.float32(w.skills)
    return Operands(dense, lex_tail if w.lexical else None, sk_tail if w.skills else None)


def product(rows: Operands, cols: Operands, buffers: Buffers | None = None) -> np.ndarray:
    """The fused score matrix of two prepared sides (rows x cols), whichever side plays the
    candidate: the score is a plain dot product of the operands. With `buffers`, the result
    and its temporaries live in reused memory (valid until the next call)."""
    shape = (rows.dense.shape[0], cols.dense.shape[0])
    if buffers is None:
        out = rows.dense @ cols.dense.T
    else:
        out = np.matmul(rows.dense, cols.dense.T, out=buffers.get("score", shape))
    for left, right, right_t in ((rows.lexical_tail, cols.lexical_tail, cols.lexical_tail_t),
                                 (rows.skills_tail, cols.skills_tail, cols.skills_tail_t)):
        if left is not None and right is not None and left.nnz and right.nnz:
            tail = left @ (right.T if right_t is None else right_t)
            if _add_into is not None:  # no pair twice in a product: one add each
                _add_into(*shape, tail.indptr, tail.indices, tail.data, out)
            elif tail.nnz * 8 < out.size:
                coo = tail.tocoo()
                # Pairs are unique in a product's output: a fancy-indexed += is exact.
                out[coo.row, coo.col] += coo.data
            else:  # many pairs share a term: one dense pass beats a scatter
                out += tail.toarray(out=None if buffers is None
                                    else buffers.get("tail", shape))
    return out


try:  # scipy's own loop adding a CSR matrix into a dense one (what toarray runs on zeros)
    from scipy.sparse._sparsetools import csr_todense as _add_into
except ImportError:  # pragma: no cover - a scipy without it: the public paths above
    _add_into = None


class Buffers:
    """Arrays reused from one product to the next: fresh memory of this size costs a page
    fault per 4 KB, seconds over a million-row side."""

    def __init__(self) -> None:
        self._flat: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, int], dtype: type = np.float32) -> np.ndarray:
        size = shape[0] * shape[1]
        flat = self._flat.get(name)
        if flat is None or flat.size < size or flat.dtype != dtype:
            flat = self._flat[name] = np.empty(size, dtype=dtype)
        return flat[:size].reshape(shape)


def scores(candidates: Side, jobs: Side, weights: Weights, head: Head | None = None
           ) -> np.ndarray:
    """The fused score matrix (len(candidates), len(jobs)), float32."""
    if head is None:
        # A skinny product (a few changed entities) has few output pairs: all sparse is
        # cheapest. Otherwise the larger side's common terms go dense.
        skinny = min(len(candidates), len(jobs)) <= SKINNY_ROWS
        head = (Head(np.zeros(0, np.int32), np.zeros(0, np.int32)) if skinny
                else head_of(jobs if len(jobs) >= len(candidates) else candidates))
    return product(operands(candidates, as_candidate=True, weights=weights, head=head),
                   operands(jobs, as_candidate=False, weights=weights, head=head))


def features(candidates: Side, jobs: Side, ci: np.ndarray, ji: np.ndarray) -> np.ndarray:
    """The four features of the pairs (candidates[ci[p]], jobs[ji[p]]): shape (p, 4)."""
    ci, ji = np.asarray(ci, dtype=np.int64), np.asarray(ji, dtype=np.int64)
    out = np.zeros((len(ci), len(FEATURES)), dtype=np.float32)
    if not len(ci):
        return out
    out[:, 0] = np.einsum("pd,pd->p", candidates.vectors[ci], jobs.vectors[ji])
    out[:, 1] = np.asarray(candidates.lexical[ci].multiply(jobs.lexical[ji]).sum(axis=1)).ravel()
    cov = _coverage(candidates.take(np.unique(ci)), jobs.take(np.unique(ji))).tocsr()
    rows = np.searchsorted(np.unique(ci), ci)
    cols = np.searchsorted(np.unique(ji), ji)
    out[:, 2] = np.asarray(cov[rows, cols]).ravel()
    out[:, 3] = SENIORITY_FIT[candidates.levels[ci], jobs.levels[ji]]
    return out


def oriented_scores(rows: Side, cols: Side, rows_are_candidates: bool, weights: Weights
                    ) -> np.ndarray:
    """`scores` with `rows` as the rows whichever side they are."""
    if rows_are_candidates:
        return scores(rows, cols, weights)
    return scores(cols, rows, weights).T


def oriented_features(rows: Side, cols: Side, rows_are_candidates: bool,
                      ri: np.ndarray, ci: np.ndarray) -> np.ndarray:
    if rows_are_candidates:
        return features(rows, cols, ri, ci)
    return features(cols, rows, ci, ri)


@dataclass(frozen=True)
class TopK:
    """Per row of a side, the best K columns of the other side, best first."""

    columns: list[list[int]]  # indices into the other side (its chunks one after another)
    scores: list[list[float]]


def _best(score: np.ndarray, k: int) -> np.ndarray:
    """Column indices of each row's top k, best first; ties broken by the lower column."""
    n, m = score.shape
    kk = min(k, m)
    if kk == 0:
        return np.zeros((n, 0), dtype=np.int64)
    # The kk-th largest value of each row (a partition copies values only: no n x m index
    # array); every column reaching it is a contender, and each row has at least kk.
    kth = np.partition(score, m - kk, axis=1)[:, m - kk]
    rows, cols = np.nonzero(score >= kth[:, np.newaxis])
    order = np.lexsort((cols, -score[rows, cols], rows))
    rows, cols = rows[order], cols[order]
    first = np.searchsorted(rows, np.arange(n))
    return cols[first[:, np.newaxis] + np.arange(kk)[np.newaxis, :]]


# --- the exact top-K over a side read in chunks -------------------------------------------------
#
# The other side may be far larger than memory allows as one score matrix (1M candidates),
# so it comes as chunks (store.stream_side), regrouped into tiles of TILE_ROWS rows, and each
# new entity keeps a running top-K: a tile's contenders (its own top-K, or every score
# reaching the running K-th) are merged with the entries held, ranked by (-score, id in code
# point order) as the whole side would rank them. Memory is O(new rows x TILE_ROWS), and the
# lists do not depend on how the side was chunked (bit for bit, for the same order of rows).
#
# The head (terms handled densely) must be the same for every tile, so it is chosen once,
# from the new side and the other side's first HEAD_SAMPLE_ROWS rows, whatever the chunking.
# A term goes dense when the share of (new, other) pairs that both have it reaches
# HEAD_MIN_PAIR_SHARE: below that, its sparse products cost less than a dense column (on
# 1M candidates, a pair sharing a term costs a sparse product a few hundred times what one
# more column costs the BLAS product).

HEAD_SAMPLE_ROWS = 50_000
# Rows of the other side per product, whatever the chunks they came in: memory is
# O(new rows x TILE_ROWS), and every product sees the same rows however the side was cut.
# (BLAS adds up a dot product in an order that depends on the matrices' shapes: the same
# pair scored in a 7-row and in a 40-row product can differ in the last bit.)
TILE_ROWS = 50_000
HEAD_MIN_PAIR_SHARE = 0.002
# Contenders above the running K-th beyond this many per row: rank the block with _best.
CONTENDERS_PER_ROW = 64


def _shares(indices: np.ndarray, rows: int) -> tuple[np.ndarray, np.ndarray]:
    terms, counts = np.unique(indices, return_counts=True)
    return terms, counts / max(rows, 1)


def _pair_head(new: sp.csr_matrix, sample: Sequence[sp.csr_matrix]) -> np.ndarray:
    """Term ids that enough (new, other) pairs share, the HEAD_TERMS most shared, sorted."""
    n_other = sum(m.shape[0] for m in sample)
    if not new.nnz or not n_other:
        return np.zeros(0, dtype=np.int32)
    t_new, p_new = _shares(new.indices, new.shape[0])
    t_other, p_other = _shares(np.concatenate([m.indices for m in sample]), n_other)
    terms, i, j = np.intersect1d(t_new, t_other, assume_unique=True, return_indices=True)
    share = p_new[i] * p_other[j]
    keep = share >= HEAD_MIN_PAIR_SHARE
    terms, share = terms[keep], share[keep]
    if len(terms) > HEAD_TERMS:
        terms = terms[np.lexsort((terms, -share))[:HEAD_TERMS]]
    return np.sort(terms).astype(np.int32)


def stream_head(new: Side, first: Sequence[Side], rows: int | None = None) -> Head:
    """The head of a streamed top-K: from `new` and the first `rows` (HEAD_SAMPLE_ROWS) rows
    of the other side (the chunks `first`, in the order they came)."""
    lex, sk, left = [], [], HEAD_SAMPLE_ROWS if rows is None else rows
    for chunk in first:
        take = min(left, len(chunk))
        lex.append(chunk.lexical[:take])
        sk.append(chunk.skills[:take])
        left -= take
    return Head(_pair_head(new.lexical, lex), _pair_head(new.skills, sk))


@dataclass
class Ranked:
    """Each new entity's best K over the other side so far, best first: scores (-inf in a
    slot the other side could not fill yet), the other entities' ids and positions (chunks
    one after another), the pairs' features, and the other entities' (skills, must-haves)
    where their chunk carried entities (else None: read for the winners alone)."""

    scores: np.ndarray  # (n, k) float32
    ids: np.ndarray  # (n, k) object: str, or None in an empty slot
    columns: np.ndarray  # (n, k) int64, -1 in an empty slot
    features: np.ndarray  # (n, k, len(FEATURES)) float32
    names: np.ndarray  # (n, k) object: (skills, must-haves) or None
    other_rows: int = 0  # rows of the other side seen

    @classmethod
    def empty(cls, n: int, k: int) -> Ranked:
        return cls(np.full((n, k), -np.inf, dtype=np.float32),
                   np.full((n, k), None, dtype=object), np.full((n, k), -1, dtype=np.int64),
                   np.zeros((n, k, len(FEATURES)), dtype=np.float32),
                   np.full((n, k), None, dtype=object))

    def entries(self, row: int) -> np.ndarray:
        """The slots of row `row` that hold an entry (best first)."""
        return np.flatnonzero(np.isfinite(self.scores[row]))

    def merge(self, lo: int, score: np.ndarray, ids: np.ndarray, positions: np.ndarray,
              rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Merge contenders (rows[p], cols[p]) of `score` — rows lo.. of the new side against
        a chunk whose column c has id ids[c] and position positions[c] — into those rows'
        entries, ranked by (-score, id). Returns (row, slot, column) of the contenders that
        entered."""
        b, k = score.shape[0], self.scores.shape[1]
        held = slice(lo, lo + b)
        n_old = b * k
        all_rows = np.concatenate([np.repeat(np.arange(b), k), rows])
        all_scores = np.concatenate([self.scores[held].ravel(), score[rows, cols]])
        all_ids = np.concatenate([self.ids[held].ravel(), ids[cols]])
        # An empty slot has no id; its -inf score ranks it last whatever its id rank.
        named = np.where(np.equal(all_ids, None), "", all_ids)
        ranks = np.unique(named, return_inverse=True)[1].ravel()
        order = np.lexsort((ranks, -all_scores, all_rows))
        first = np.searchsorted(all_rows[order], np.arange(b))
        take = order[first[:, np.newaxis] + np.arange(k)[np.newaxis, :]]  # (b, k)
        old = take < n_old
        slot = np.where(old, take % k, 0)  # the entry's slot before, for old entries
        col = cols[np.where(old, 0, take - n_old)] if len(cols) else np.zeros_like(take)
        at = np.arange(b)[:, np.newaxis]
        self.columns[held] = np.where(old, self.columns[held][at, slot], positions[col])
        self.features[held] = self.features[held][at, slot]
        self.names[held] = self.names[held][at, slot]
        self.scores[held] = all_scores[take]
        self.ids[held] = all_ids[take]
        entered_row, entered_slot = np.nonzero(~old)
        return entered_row, entered_slot, col[entered_row, entered_slot]


def _contenders(score: np.ndarray, kth: np.ndarray, k: int, buffers: Buffers | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of a chunk's scores that may enter the rows' top-K: every score reaching
    the row's running K-th (a tie may still win on its id); while a row holds fewer than K,
    or too many reach it, each row's best K of the chunk."""
    if np.isfinite(kth).all():
        live = np.flatnonzero(score.max(axis=1) >= kth)  # later tiles: few rows to merge
        if len(live) * 4 > len(kth):  # most rows: one pass over the whole block
            reach = np.greater_equal(score, kth[:, np.newaxis], out=None if buffers is None
                                     else buffers.get("reach", score.shape, np.bool_))
            rows, cols = np.nonzero(reach)
        else:
            rows, cols = np.nonzero(score[live] >= kth[live, np.newaxis])
            rows = live[rows]
        if len(rows) <= CONTENDERS_PER_ROW * len(kth):
            return rows, cols
    best = _best(score, k)
    return np.repeat(np.arange(score.shape[0]), best.shape[1]), best.ravel()


def _in_code_point_order(chunk: Side) -> tuple[Side, np.ndarray]:
    """The chunk with its rows in code point order of ids (ties in a top-K are broken by it),
    and each row's position in the chunk as given."""
    ids = chunk.ids
    if all(a < b for a, b in zip(ids[:-1], ids[1:], strict=True)):
        return chunk, np.arange(len(chunk))
    order = np.asarray(sorted(range(len(ids)), key=ids.__getitem__), dtype=np.int64)
    return chunk.take(order), order


@dataclass(frozen=True)
class _Prepared:
    """One chunk of the other side ready for the products."""

    chunk: Side  # rows in code point order of ids
    theirs: Operands | None  # None: nothing to multiply
    ids: np.ndarray  # object
    positions: np.ndarray  # each row's position on the whole other side


def rank(new: Side, other: Side | Iterable[Side], *, new_is_candidate: bool,
         weights: Weights, k: int = DEFAULT_TOP_K) -> Ranked:
    """Each new entity's exact top-K over the other side, given whole or as chunks (of any
    sizes, in any order of ids); ties are broken by id in code point order. The side is
    multiplied in tiles of TILE_ROWS rows, a thread preparing the next tile meanwhile."""
    chunks = iter([other] if isinstance(other, Side) else other)
    ranked = Ranked.empty(len(new), k)
    # The first HEAD_SAMPLE_ROWS rows as they come choose the head, however they are chunked.
    sample: list[Side] = []
    seen = 0
    for chunk in chunks:
        sample.append(chunk)
        seen += len(chunk)
        if seen >= HEAD_SAMPLE_ROWS:
            break
    head = stream_head(new, sample)
    # Only the new side's tail terms can meet in a tail product: the other side's tails keep
    # those columns alone (small transposes, nothing else to multiply).
    large = seen >= HEAD_SAMPLE_ROWS
    columns = (Columns.of(head.lexical, np.setdiff1d(new.lexical.indices, head.lexical),
                          table=large),
               Columns.of(head.skills, np.setdiff1d(new.skills.indices, head.skills),
                          table=large))
    # The weights go on the new side: the chunks' operands are then the chunks as read.
    mine = operands(new, as_candidate=new_is_candidate, weights=weights, head=head,
                    weighted=True, columns=columns)
    blocks = [(lo, mine.rows(lo, lo + CHUNK_ROWS)) for lo in range(0, len(new), CHUNK_ROWS)]

    def prepared() -> Iterator[_Prepared]:
        offset = 0
        for chunk in _tiles(itertools.chain(sample, chunks), TILE_ROWS):
            ordered, order = _in_code_point_order(chunk)
            theirs = (operands(ordered, as_candidate=not new_is_candidate, weights=weights,
                               head=head, weighted=False, columns=columns).transposed()
                      if len(chunk) and len(new) and k else None)
            yield _Prepared(ordered, theirs, np.asarray(list(ordered.ids), dtype=object),
                            offset + order)
            offset += len(chunk)
        ranked.other_rows = offset
        read.set()

    read = threading.Event()  # the whole side is in: the other threads are done
    buffers = Buffers()
    ahead = one_ahead(prepared())
    with contextlib.ExitStack() as blas:
        if large:
            blas.enter_context(_blas_leaving_a_core())

        def before_product() -> None:
            if read.is_set():
                blas.close()  # nothing else runs now: every core to BLAS

        try:
            for ready in ahead:
                _rank_chunk(ranked, new, new_is_candidate, blocks, ready, buffers,
                            before_product)
        finally:
            ahead.close()  # stops the thread (and a stream under way) if this one failed
    return ranked


def _blas_leaving_a_core() -> contextlib.AbstractContextManager:
    """BLAS limited to all cores but one while a large side streams in: the reader and
    preparer threads and the database need that one, and OpenBLAS threads that wait for a
    busy core spin (1k x 1M on 2 cores: 27 s and 37 CPU-s with 2 BLAS threads, 25 s and 30
    CPU-s with 1). Lifted once the side is read."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(max(1, (os.cpu_count() or 1) - 1), user_api="blas")


def _rank_chunk(ranked: Ranked, new: Side, new_is_candidate: bool,
                blocks: list[tuple[int, Operands]], ready: _Prepared, buffers: Buffers,
                before_product: Callable[[], None]) -> None:
    """Merge one prepared tile of the other side into the running top-K."""
    k = ranked.scores.shape[1]
    if ready.theirs is None:  # an empty tile, or nothing to rank
        return
    entered_rows, entered_slots, entered_cols = [], [], []
    for lo, block in blocks:
        before_product()
        score = product(block, ready.theirs, buffers)  # rows: `new`, whichever side
        rows, cols = _contenders(score, ranked.scores[lo:lo + len(score), k - 1], k, buffers)
        r, slot, c = ranked.merge(lo, score, ready.ids, ready.positions, rows, cols)
        entered_rows.append(lo + r)
        entered_slots.append(slot)
        entered_cols.append(c)
    rows, slots, cols = (np.concatenate(x) for x in (entered_rows, entered_slots, entered_cols))
    if len(rows):
        # Explained only once they enter: a pair's features, and the names if at hand.
        chunk = ready.chunk
        ranked.features[rows, slots] = oriented_features(new, chunk, new_is_candidate,
                                                         rows, cols)
        if chunk.entities is not None:
            names = np.empty(len(cols), dtype=object)
            names[:] = [(chunk.entities[c].skills, chunk.entities[c].must_have_skills)
                        for c in cols.tolist()]
            ranked.names[rows, slots] = names


def _tiles(chunks: Iterable[Side], rows: int) -> Iterator[Side]:
    """The rows of `chunks`, in order, regrouped into tiles of `rows` rows (the last one
    shorter). A chunk that is a tile already passes as it is."""
    held: list[Side] = []
    n = 0
    for chunk in chunks:
        if not len(chunk):
            continue
        if not held and len(chunk) == rows:
            yield chunk
            continue
        held.append(chunk)
        n += len(chunk)
        while n >= rows:
            merged = held[0] if len(held) == 1 else Side.concat(held)
            yield merged.take(range(rows)) if n > rows else merged
            held = [merged.take(range(rows, n))] if n > rows else []
            n -= rows
    if n:
        yield held[0] if len(held) == 1 else Side.concat(held)


T = TypeVar("T")


def one_ahead(items: Iterator[T]) -> Iterator[T]:
    """`items`, produced by a thread one item ahead of the consumer (numpy and libpq let go
    of the GIL: the two overlap). Left early, the thread stops after the item in hand and
    closes `items` itself (a generator must be closed by the thread that runs it)."""
    handoff: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()
    end = object()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((True, item)):
                    break
            else:
                put((True, end))
        except BaseException as exc:  # handed to the consumer, raised there
            put((False, exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="one-ahead", daemon=True)
    thread.start()
    try:
        while True:
            ok, item = handoff.get()
            if not ok:
                raise item
            if item is end:
                return
            yield item
    finally:
        stop.set()
        thread.join()


def top_k(new: Side, other: Side | Iterable[Side], *, new_is_candidate: bool,
          weights: Weights, k: int = DEFAULT_TOP_K) -> TopK:
    """Each new entity's exact top-K against the whole other side (ids in code point order
    break ties): columns are positions on the other side, its chunks one after another."""
    ranked = rank(new, other, new_is_candidate=new_is_candidate, weights=weights, k=k)
    slots = [ranked.entries(i) for i in range(len(new))]
    return TopK([ranked.columns[i, s].tolist() for i, s in enumerate(slots)],
                [ranked.scores[i, s].tolist() for i, s in enumerate(slots)])
