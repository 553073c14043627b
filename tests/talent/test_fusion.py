"""Fusion weights: ranking metrics against hand-worked examples, the simplex grid, fitting on
synthetic data with a known answer, leave-one-group-out validation, and the weights file."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from talentflow.talent.fusion import (
    cross_validate,
    fit,
    load_weights,
    ranking_metrics,
    save_weights,
    simplex_grid,
)
from talentflow.talent.matching import Weights

log2 = math.log2


# --- ranking metrics --------------------------------------------------------------------------

def test_ranking_metrics_on_three_hand_worked_queries() -> None:
    scores = np.array([
        [0.9, 0.8, 0.1, 0.0],  # ranked 0, 1, 2, 3 -> grades 2, 0, 1, 0
        [0.1, 0.9, 0.5, 0.3],  # ranked 1, 2, 3, 0 -> grades 0, 2, 0, 2
        [0.5, 0.4, 0.3, 0.2],  # ranked 0, 1, 2, 3 -> grades 0, 1, 0, 0 (no right answer)
    ])
    relevance = np.array([
        [2, 0, 1, 0],
        [2, 0, 2, 0],
        [0, 1, 0, 0],
    ])
    m = ranking_metrics(scores, relevance)
    # DCG terms: gain 2**g - 1 (3 for a right answer, 1 for a plausible one) / log2(rank + 1)
    ndcg_1 = (3 / log2(2) + 1 / log2(4)) / (3 / log2(2) + 1 / log2(3))
    ndcg_2 = (3 / log2(3) + 3 / log2(5)) / (3 / log2(2) + 3 / log2(3))
    ndcg_3 = (1 / log2(3)) / (1 / log2(2))
    expected = {
        "hit@1": (1 + 0 + 0) / 3,
        "recall@1": (1 + 0 + 0) / 3,
        "recall@3": (1 + 1 / 2 + 0) / 3,
        "recall@10": (1 + 2 / 2 + 0) / 3,
        "mrr": (1 + 1 / 2 + 0) / 3,
        "ndcg@10": (ndcg_1 + ndcg_2 + ndcg_3) / 3,
    }
    assert m.keys() == expected.keys()
    for name, value in expected.items():
        assert m[name] == pytest.approx(value, abs=5e-5), name


def test_grade_one_counts_for_ndcg_only() -> None:
    scores = np.array([[0.9, 0.5, 0.1]])
    plausible_first = np.array([[1, 2, 0]])
    m = ranking_metrics(scores, plausible_first)
    assert m["hit@1"] == 0 and m["recall@1"] == 0
    assert m["mrr"] == pytest.approx(1 / 2, abs=5e-5)
    assert m["recall@3"] == 1
    # DCG 1/1 + 3/log2(3); ideal 3/1 + 1/log2(3)
    assert m["ndcg@10"] == pytest.approx((1 + 3 / log2(3)) / (3 + 1 / log2(3)), abs=5e-5)
    # the same ranking with the plausible entry wrong instead scores lower on nDCG only
    wrong_first = ranking_metrics(scores, np.array([[0, 2, 0]]))
    assert wrong_first["ndcg@10"] == pytest.approx((3 / log2(3)) / 3, abs=5e-5)
    assert wrong_first["ndcg@10"] < m["ndcg@10"]
    assert wrong_first["mrr"] == m["mrr"]


def test_only_the_top_ten_count_for_ndcg_and_recall_at_10() -> None:
    scores = -np.arange(12, dtype=float)[np.newaxis, :]  # ranked in column order
    relevance = np.zeros((1, 12), dtype=int)
    relevance[0, 10] = 2  # the right answer at rank 11
    m = ranking_metrics(scores, relevance)
    assert m["recall@10"] == 0 and m["ndcg@10"] == 0
    assert m["mrr"] == pytest.approx(1 / 11, abs=5e-5)
    relevance[0, 9] = 2  # and one at rank 10
    m = ranking_metrics(scores, relevance)
    assert m["recall@10"] == pytest.approx(1 / 2)
    assert m["mrr"] == pytest.approx(1 / 10, abs=5e-5)
    # ideal: both right answers at ranks 1 and 2
    assert m["ndcg@10"] == pytest.approx((3 / log2(11)) / (3 / log2(2) + 3 / log2(3)),
                                         abs=5e-5)


def test_ties_are_ranked_by_column() -> None:
    scores = np.array([[0.5, 0.5, 0.5]])
    assert ranking_metrics(scores, np.array([[2, 0, 0]]))["hit@1"] == 1
    assert ranking_metrics(scores, np.array([[0, 0, 2]]))["mrr"] == pytest.approx(1 / 3,
                                                                                 abs=5e-5)


def test_no_queries_no_metrics() -> None:
    assert ranking_metrics(np.zeros((0, 3)), np.zeros((0, 3))) == {}


# --- the simplex grid -------------------------------------------------------------------------

@pytest.mark.parametrize(("step", "dims", "count"), [
    (0.25, 4, 35),  # C(4 + 4 - 1, 3) = 7 * 6 * 5 / 6
    (0.05, 4, 1771),  # C(20 + 4 - 1, 3) = 23 * 22 * 21 / 6
    (0.5, 2, 3),  # (0, 1), (0.5, 0.5), (1, 0)
    (0.1, 3, 66),  # C(10 + 3 - 1, 2) = 12 * 11 / 2
])
def test_simplex_grid(step: float, dims: int, count: int) -> None:
    grid = simplex_grid(step, dims)
    assert grid.shape == (count, dims)
    np.testing.assert_allclose(grid.sum(axis=1), 1.0, atol=1e-12)
    assert (grid >= 0).all()
    units = grid / step
    np.testing.assert_allclose(units, np.round(units), atol=1e-9)  # multiples of step
    assert len({tuple(np.round(r, 9)) for r in grid}) == count  # no duplicates
    # the corners (one feature alone) are on it
    for i in range(dims):
        corner = np.eye(dims)[i]
        assert np.isclose(grid, corner).all(axis=1).any()


def test_default_grid_spans_the_four_features() -> None:
    grid = simplex_grid()
    assert grid.shape == (1771, 4)


# --- fitting ------------------------------------------------------------------------------------

def _synthetic(seed: int, informative: int, queries: int = 60, docs: int = 12,
               noise: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """One right document per query; feature `informative` = relevance + noise, the others
    uniform noise."""
    rng = np.random.default_rng(seed)
    relevance = np.zeros((queries, docs), dtype=int)
    relevance[np.arange(queries), rng.integers(0, docs, queries)] = 2
    features = rng.uniform(0, 1, (queries, docs, 4))
    features[:, :, informative] = (relevance == 2) + rng.normal(0, noise, (queries, docs))
    return features, relevance


@pytest.mark.parametrize(("seed", "informative"), [(0, 0), (1, 0), (2, 2), (3, 1)])
def test_fit_recovers_the_informative_feature(seed: int, informative: int) -> None:
    features, relevance = _synthetic(seed, informative)
    w = fit(features, relevance, step=0.1).as_array()
    assert w.sum() == pytest.approx(1.0, abs=1e-6)
    assert (w >= 0).all()
    others = np.delete(w, informative)
    assert w[informative] > 0.5
    assert w[informative] > 2 * others.max()


def test_fit_uses_only_the_given_queries() -> None:
    first, rel_first = _synthetic(10, informative=0, queries=30)
    second, rel_second = _synthetic(11, informative=3, queries=30)
    features, relevance = np.concatenate([first, second]), np.concatenate([rel_first,
                                                                           rel_second])
    on_first = fit(features, relevance, queries=range(30), step=0.1).as_array()
    on_second = fit(features, relevance, queries=range(30, 60), step=0.1).as_array()
    assert on_first.argmax() == 0 and on_first[0] > 0.5
    assert on_second.argmax() == 3 and on_second[3] > 0.5


def test_cross_validate_never_uses_a_groups_own_labels() -> None:
    features, relevance = _synthetic(7, informative=0, queries=30)
    groups = ["a"] * 10 + ["b"] * 10 + ["c"] * 10
    scores, folds = cross_validate(features, relevance, groups, step=0.1)
    assert scores.shape == relevance.shape
    assert sorted(folds) == ["a", "b", "c"]
    for name, rows in (("a", slice(0, 10)), ("b", slice(10, 20)), ("c", slice(20, 30))):
        np.testing.assert_allclose(scores[rows], features[rows] @ folds[name].as_array(),
                                   atol=1e-6)

    # corrupt group a's labels: its right answer is now the document best on feature 1
    corrupted = relevance.copy()
    for q in range(10):
        corrupted[q] = 0
        corrupted[q, np.argmax(features[q, :, 1])] = 2
    scores2, folds2 = cross_validate(features, corrupted, groups, step=0.1)
    # a's out-of-fold scores and weights come from b and c alone: unchanged
    np.testing.assert_array_equal(scores2[:10], scores[:10])
    assert folds2["a"] == folds["a"]
    # while the folds that train on a's labels did see the corruption
    assert folds2["b"] != folds["b"] or folds2["c"] != folds["c"]
    assert not np.array_equal(scores2[10:], scores[10:])


# --- the weights file -------------------------------------------------------------------------

def test_save_and_load_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "match_weights.json"
    weights = Weights(dense=0.45, lexical=0.3, skills=0.15, seniority=0.1)
    provenance = {"corpus": "data/eval", "queries": 120, "mrr": 0.81}
    save_weights(weights, provenance, path)
    assert load_weights(path) == weights
    body = json.loads(path.read_text(encoding="utf-8"))
    assert body["fitted"] == provenance
    assert body["weights"] == {"dense": 0.45, "lexical": 0.3, "skills": 0.15,
                               "seniority": 0.1}


def test_saved_weights_keep_four_decimals(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    thirds = Weights(dense=1 / 3, lexical=1 / 3, skills=1 / 6, seniority=1 / 6)
    save_weights(thirds, {}, path)
    loaded = load_weights(path).as_array()
    np.testing.assert_allclose(loaded, [1 / 3, 1 / 3, 1 / 6, 1 / 6], atol=5e-5)
