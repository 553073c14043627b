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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

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
    entities: Sequence[Entity]
    versions: Sequence[str] | None = None  # the entities' data versions, if loaded

    def __post_init__(self) -> None:
        n = len(self.ids)
        if not (len(self.vectors) == self.lexical.shape[0] == self.skills.shape[0]
                == len(self.levels) == len(self.entities) == n):
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

    def take(self, rows: Sequence[int] | np.ndarray) -> Side:
        rows = np.asarray(rows, dtype=np.int64)
        return Side([self.ids[i] for i in rows], self.vectors[rows], self.lexical[rows],
                    self.skills[rows], self.levels[rows],
                    [self.entities[i] for i in rows],
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


def _split(matrix: sp.csr_matrix, head: np.ndarray) -> tuple[np.ndarray, sp.csr_matrix]:
    """(dense columns of the head terms, the rest as CSR)."""
    n = matrix.shape[0]
    rows = np.repeat(np.arange(n), np.diff(matrix.indptr))
    pos = np.minimum(np.searchsorted(head, matrix.indices), max(len(head) - 1, 0))
    in_head = (head[pos] == matrix.indices) if len(head) else np.zeros(matrix.nnz, bool)
    dense_part = np.zeros((n, len(head)), dtype=np.float32)
    dense_part[rows[in_head], pos[in_head]] = matrix.data[in_head]
    keep = ~in_head
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows[keep], minlength=n), out=indptr[1:])
    tail = sp.csr_matrix((matrix.data[keep], matrix.indices[keep], indptr), shape=matrix.shape)
    return dense_part, tail


@dataclass(frozen=True)
class Operands:
    """One side ready for the product: candidates carry the weights, jobs the scaling."""

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


def operands(side: Side, *, as_candidate: bool, weights: Weights, head: Head) -> Operands:
    w = weights
    lex_head, lex_tail = _split(side.lexical, head.lexical)
    gate, scale = _skill_gates(side)
    factor = gate if as_candidate else scale
    sk_head, sk_tail = _split(_scaled_rows(side.skills, factor), head.skills)
    if as_candidate:
        parts = [w.dense * side.vectors, w.seniority * SENIORITY_FIT[side.levels],
                 w.lexical * lex_head, w.skills * sk_head]
        lex_tail, sk_tail = lex_tail * np.float32(w.lexical), sk_tail * np.float32(w.skills)
    else:
        parts = [side.vectors, np.eye(len(SENIORITY_LEVELS), dtype=np.float32)[side.levels],
                 lex_head, sk_head]
    lex_tail = lex_tail if w.lexical else None
    sk_tail = sk_tail if w.skills else None
    return Operands(np.hstack([p.astype(np.float32, copy=False) for p in parts]),
                    lex_tail, sk_tail)


def product(rows: Operands, cols: Operands) -> np.ndarray:
    """The fused score matrix of two prepared sides (rows x cols), whichever side plays the
    candidate: the score is a plain dot product of the operands."""
    out = rows.dense @ cols.dense.T
    for left, right, right_t in ((rows.lexical_tail, cols.lexical_tail, cols.lexical_tail_t),
                                 (rows.skills_tail, cols.skills_tail, cols.skills_tail_t)):
        if left is not None and right is not None and left.nnz and right.nnz:
            tail = (left @ (right.T if right_t is None else right_t)).tocoo()
            # Pairs are unique in a product's output: a fancy-indexed += is exact.
            out[tail.row, tail.col] += tail.data
    return out


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

    columns: list[list[int]]  # indices into the other side
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


def top_k(new: Side, other: Side, *, new_is_candidate: bool, weights: Weights,
          k: int = DEFAULT_TOP_K) -> TopK:
    """Each new entity's exact top-K against the whole other side (ids in code point order
    break ties), in chunks of CHUNK_ROWS rows; the other side is prepared once."""
    columns: list[list[int]] = []
    best_scores: list[list[float]] = []
    head = head_of(other)
    prepared = operands(other, as_candidate=not new_is_candidate, weights=weights,
                        head=head).transposed()
    for start in range(0, len(new), CHUNK_ROWS):
        chunk = new.take(range(start, min(start + CHUNK_ROWS, len(new))))
        mine = operands(chunk, as_candidate=new_is_candidate, weights=weights, head=head)
        score = product(mine, prepared)  # symmetric in form: rows are `new` either way
        best = _best(score, k)
        columns.extend(best.tolist())
        best_scores.extend(np.take_along_axis(score, best, axis=1).tolist())
    return TopK(columns, best_scores)
