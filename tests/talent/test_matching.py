"""`scores` and `top_k` against the brute-force oracle of test_cross_join (written from the
definition, no talentflow code): 0.8 * cosine + 0.2 * |skills(c) & skills(j)| / |skills(j)|,
coverage 0 for a job without skills, ranked by (-score, id)."""

from __future__ import annotations

import numpy as np
import pytest

from talentflow.talent import matching
from talentflow.talent.matching import Side, TopK, oriented_scores, scores, top_k
from talentflow.talent.value_stores import MatchList
from tests.talent.test_cross_join import (
    E0,
    E1,
    OWN,
    TOL,
    Entities,
    assert_top_k,
    entities,
    exact,
    oracle,
)


def _matrices(rows: Entities, cols: Entities, rows_are_candidates: bool
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The oracle's (score, cosine, coverage) matrices, rows x cols."""
    want = oracle(rows, cols, own_is_candidate=rows_are_candidates)
    col = {oid: j for j, oid in enumerate(cols.ids)}
    out = np.zeros((3, len(rows.ids), len(cols.ids)))
    for i, key in enumerate(rows.ids):
        for r in want[key]:
            out[:, i, col[r.id]] = (r.score, r.cosine, r.coverage)
    return out[0], out[1], out[2]


def _rows(best: TopK, keys: list[str]) -> dict[str, MatchList]:
    return {key: MatchList(tuple(best.ids[i]), *(tuple(m[i, :len(best.ids[i])].tolist())
                                                  for m in (best.scores, best.cosines,
                                                            best.coverages)))
            for i, key in enumerate(keys)}


def test_scores_equal_the_oracle() -> None:
    rng = np.random.default_rng(31)
    cands, jobs = entities(rng, "c", 7, 384), entities(rng, "j", 9, 384)
    jobs = Entities(jobs.ids, jobs.vectors, [frozenset()] + jobs.skills[1:])  # j0000: none
    score, cosine, coverage = scores(cands.side(), jobs.side())
    assert score.shape == cosine.shape == coverage.shape == (7, 9)
    for got, want in zip((score, cosine, coverage), _matrices(cands, jobs, True), strict=True):
        np.testing.assert_allclose(got, want, atol=TOL, rtol=0)
    assert (coverage[:, 0] == 0).all()


def test_coverage_counts_the_jobs_skills_and_is_zero_without_any() -> None:
    cands = exact([("c-none", E0, set()), ("c-one", E0, {0}), ("c-two", E0, {0, 1})])
    jobs = exact([("j-none", E1, set()), ("j-one", E1, {0}), ("j-two", E1, {0, 1})])
    _, cosine, coverage = scores(cands.side(), jobs.side())
    assert coverage.tolist() == [[0.0, 0.0, 0.0],   # a candidate without skills covers nothing
                                 [0.0, 1.0, 0.5],   # {0} covers half of {0, 1}
                                 [0.0, 1.0, 1.0]]   # more than the job asks: still 1
    assert (cosine == 0).all()
    np.testing.assert_array_equal(coverage, _matrices(cands, jobs, True)[2])


def test_oriented_scores_with_jobs_as_rows_is_the_transpose() -> None:
    rng = np.random.default_rng(32)
    cands, jobs = entities(rng, "c", 5, 64), entities(rng, "j", 6, 64)
    for got, want in zip(oriented_scores(jobs.side(), cands.side(), False),
                         _matrices(jobs, cands, False), strict=True):
        assert got.shape == (6, 5)
        np.testing.assert_allclose(got, want, atol=TOL, rtol=0)
    for a, b in zip(oriented_scores(jobs.side(), cands.side(), False),
                    scores(cands.side(), jobs.side()), strict=True):
        np.testing.assert_array_equal(a, b.T)


@pytest.mark.parametrize("new_is_candidate", [True, False])
@pytest.mark.parametrize("k", [1, 5, 40])
def test_top_k_equals_the_oracle(new_is_candidate: bool, k: int,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matching, "CHUNK_ROWS", 8)  # several chunks
    rng = np.random.default_rng(33 + k)
    new, other = entities(rng, "n", 20, 384), entities(rng, "o", 30, 384)
    best = top_k(new.side(), other.side(), new_is_candidate=new_is_candidate, k=k)
    assert len(best.ids) == 20 and best.scores.shape == (20, min(k, 30))
    want = oracle(new, other, own_is_candidate=new_is_candidate)
    for key, lst in _rows(best, new.ids).items():
        assert_top_k(lst, want[key], k, what=key)


def test_top_k_of_no_new_entity() -> None:
    rng = np.random.default_rng(34)
    none = Entities([], np.zeros((0, 16), np.float32), [])
    best = top_k(none.side(), entities(rng, "o", 4, 16).side(), new_is_candidate=True, k=3)
    assert best.ids == [] and best.scores.size == 0


def test_top_k_ties_inside_the_list_by_position() -> None:
    other = exact([("a", E1, {0}), ("b", E0, set()), ("c", E1, {0}), ("d", E1, {0})])
    best = top_k(OWN.side(), other.side(), new_is_candidate=True, k=4)
    assert best.ids == [["b", "a", "c", "d"]]


@pytest.mark.parametrize("new_is_candidate", [True, False])
def test_top_k_tie_at_the_kth_place_broken_by_position(new_is_candidate: bool) -> None:
    """Scores 0.2, 0, 0.8, 0, 0.1, 0.1 and K=3: entities 4 and 5 tie for the third place; 4
    comes first. (Minimal reproduction: top_k returns 5.)"""
    if new_is_candidate:
        new = Side(["c"], np.array([[1, 0]], np.float32), np.array([[1, 0]], np.float32))
        other = Side([f"j{i}" for i in range(6)],
                     np.array([[0, 1], [0, 1], [1, 0], [0, 1], [0, 1], [0, 1]], np.float32),
                     np.array([[1, 0], [0, 0], [0, 0], [0, 0], [1, 1], [1, 1]], np.float32))
    else:  # the same scores with a job as the new entity and candidates on the other side
        new = Side(["j"], np.array([[1, 0]], np.float32), np.array([[1, 1]], np.float32))
        other = Side([f"c{i}" for i in range(6)],
                     np.array([[0, 1], [0, 1], [1, 0], [0, 1], [0, 1], [0, 1]], np.float32),
                     np.array([[1, 1], [0, 0], [0, 0], [0, 0], [1, 0], [1, 0]], np.float32))
    best = top_k(new, other, new_is_candidate=new_is_candidate, k=3)
    np.testing.assert_allclose(best.scores, [[0.8, 0.2, 0.1]], atol=1e-7)
    prefix = "j" if new_is_candidate else "c"
    assert best.ids == [[f"{prefix}2", f"{prefix}0", f"{prefix}4"]]
