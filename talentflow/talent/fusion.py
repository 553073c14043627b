"""The fusion weights of matching: where they live, how they are fitted, how rankings are scored.

The weights (matching.Weights) are not set by hand. `fit` picks them on a labelled corpus:
every weight vector on a simplex grid (step FIT_STEP, weights >= 0, summing to 1) is scored
by the mean of MRR and nDCG@10 over the training queries, and the answer is the centroid of
the vectors within FIT_TOLERANCE of the best: a flat optimum is not decided by one query.
`cross_validate` reports how that generalizes: it fits on all groups but one (a domain) and
ranks the held-out group with those weights, for every group in turn.

Graded relevance: 2 = a right answer, 1 = a plausible second choice, 0 = wrong. Hit@1,
recall@k and MRR count grade 2; nDCG@10 uses every grade (gain 2**grade - 1).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from talentflow import config
from talentflow.talent.matching import FEATURES, Weights

WEIGHTS_FILE = "match_weights.json"
FIT_STEP = 0.05
FIT_TOLERANCE = 0.002
RIGHT = 2  # the grade of a right answer


def weights_path() -> Path:
    return config.data_dir() / WEIGHTS_FILE


def load_weights(path: Path | None = None) -> Weights:
    """The shipped weights (data/match_weights.json)."""
    raw = json.loads((path or weights_path()).read_text(encoding="utf-8"))
    return Weights(**{f: float(raw["weights"][f]) for f in FEATURES})


def save_weights(weights: Weights, provenance: dict[str, Any], path: Path | None = None
                 ) -> None:
    body = {"weights": {f: round(getattr(weights, f), 4) for f in FEATURES},
            "fitted": provenance}
    (path or weights_path()).write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")


# --- measuring a ranking -------------------------------------------------------------------

def _order(scores: np.ndarray) -> np.ndarray:
    """Each row's columns best first; ties by column (a stable order)."""
    return np.argsort(-scores, axis=1, kind="stable")


def ranking_metrics(scores: np.ndarray, relevance: np.ndarray) -> dict[str, float]:
    """Mean hit@1, recall@1/3/10, MRR and nDCG@10 of rankings (queries x documents)."""
    if len(scores) == 0:
        return {}
    graded = np.take_along_axis(relevance, _order(scores), axis=1)
    right = graded >= RIGHT
    n_right = np.maximum(right.sum(axis=1), 1)
    first = np.where(right.any(axis=1), right.argmax(axis=1), -1)
    rr = np.where(first >= 0, 1.0 / np.maximum(first + 1, 1), 0.0)
    discounts = 1.0 / np.log2(np.arange(2, 12))
    gains = (2.0 ** graded[:, :10] - 1) @ discounts[:graded[:, :10].shape[1]]
    ideal = (2.0 ** -np.sort(-relevance, axis=1)[:, :10] - 1) @ discounts[
        :min(10, relevance.shape[1])]
    out = {"hit@1": float(right[:, 0].mean())}
    for k in (1, 3, 10):
        out[f"recall@{k}"] = float((right[:, :k].sum(axis=1) / n_right).mean())
    out["mrr"] = float(rr.mean())
    out["ndcg@10"] = float(np.where(ideal > 0, gains / np.where(ideal > 0, ideal, 1), 0).mean())
    return {k: round(v, 4) for k, v in out.items()}


def _objective(scores: np.ndarray, relevance: np.ndarray) -> float:
    m = ranking_metrics(scores, relevance)
    return (m["mrr"] + m["ndcg@10"]) / 2


# --- fitting ---------------------------------------------------------------------------------

def simplex_grid(step: float = FIT_STEP, dims: int = len(FEATURES)) -> np.ndarray:
    """Every weight vector with components in multiples of `step`, summing to 1."""
    n = round(1 / step)
    rows = [c for c in itertools.product(range(n + 1), repeat=dims - 1) if sum(c) <= n]
    return np.asarray([(*c, n - sum(c)) for c in rows], dtype=np.float64) / n


def fit(features: np.ndarray, relevance: np.ndarray, queries: Sequence[int] | None = None,
        step: float = FIT_STEP) -> Weights:
    """Weights for `features` (queries x documents x FEATURES) on the given queries."""
    rows = np.arange(len(features)) if queries is None else np.asarray(queries)
    feats, rel = features[rows], relevance[rows]
    grid = simplex_grid(step)
    objective = np.asarray([_objective(feats @ w, rel) for w in grid])
    near = grid[objective >= objective.max() - FIT_TOLERANCE]
    return Weights.from_array(near.mean(axis=0))


def cross_validate(features: np.ndarray, relevance: np.ndarray, groups: Sequence[str],
                   step: float = FIT_STEP) -> tuple[np.ndarray, dict[str, Weights]]:
    """Out-of-fold scores (each group ranked with weights fitted on the others) and the
    weights of each fold."""
    groups = np.asarray(groups)
    scores = np.zeros(features.shape[:2])
    fold_weights: dict[str, Weights] = {}
    for group in sorted(set(groups.tolist())):
        held = np.nonzero(groups == group)[0]
        weights = fit(features, relevance, np.nonzero(groups != group)[0], step)
        scores[held] = features[held] @ weights.as_array()
        fold_weights[group] = weights
    return scores, fold_weights
