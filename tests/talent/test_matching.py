"""`scores`, `features` and `top_k` against the brute-force oracle of test_cross_join (written
from the definition, no talentflow code):

    score = w.dense * cosine + w.lexical * dot(lexical) + w.skills * coverage + w.seniority * fit

with coverage gated at 3 distinct folded skills on both sides and fit = max(0, 1 - |Δlevel|/3),
ranked by (-score, id). Every feature is also checked alone (a weight vector with one 1).
"""

from __future__ import annotations

import numpy as np
import pytest

from talentflow.talent import matching
from talentflow.talent.matching import (
    SENIORITY_FIT,
    Side,
    TopK,
    Weights,
    features,
    fold_skill,
    oriented_features,
    oriented_scores,
    scores,
    top_k,
)
from talentflow.talent.value_stores import Match, MatchList
from tests.talent.test_cross_join import (
    LEVELS,
    OWN,
    TOL,
    W_EXACT,
    WEIGHTS,
    Entities,
    Scored,
    assert_top_k,
    entities,
    exact,
    oracle,
    person,
)

FEATURE_NAMES = ("dense", "lexical", "skills", "seniority")
ALONE = {name: Weights(*(1.0 if n == name else 0.0 for n in FEATURE_NAMES))
         for name in FEATURE_NAMES}


def _matrices(rows: Entities, cols: Entities, rows_are_candidates: bool, weights: Weights
              ) -> dict[str, np.ndarray]:
    """The oracle's score and feature matrices, rows x cols."""
    want = oracle(rows, cols, own_is_candidate=rows_are_candidates, weights=weights)
    col = {oid: j for j, oid in enumerate(cols.ids)}
    out = {name: np.zeros((len(rows.ids), len(cols.ids)))
           for name in ("score", *FEATURE_NAMES)}
    for i, key in enumerate(rows.ids):
        for r in want[key]:
            for name, m in out.items():
                m[i, col[r.id]] = getattr(r, name)
    return out


def _as_list(best: TopK, row: int, other: Entities, ranking: list[Scored]) -> MatchList:
    """Row `row` of a TopK as a MatchList. TopK carries ids and scores only: the explanation
    fields are copied from the oracle's entry of the same id, so `assert_top_k` judges the
    ids, their order and the scores."""
    truth = {r.id: r for r in ranking}
    out = []
    for c, s in zip(best.columns[row], best.scores[row], strict=True):
        r = truth[other.ids[c]]
        out.append(Match(r.id, s, r.dense, r.lexical, r.skills, r.seniority, r.shared,
                         r.missing))
    return MatchList(tuple(out))


def test_fold_skill_ignores_case_and_spacing() -> None:
    assert fold_skill("  Machine   LEARNING ") == "machine learning"
    assert fold_skill("Node.JS") == fold_skill("node.js") == "node.js"
    assert fold_skill("C++") != fold_skill("C#")
    assert fold_skill("machinelearning") != fold_skill("machine learning")


def test_seniority_fit_table() -> None:
    """1 at the same level, 2/3 one apart, 1/3 two apart, 0 from three apart."""
    assert SENIORITY_FIT.shape == (len(LEVELS), len(LEVELS))
    for i in range(len(LEVELS)):
        for j in range(len(LEVELS)):
            want = {0: 1.0, 1: 2 / 3, 2: 1 / 3}.get(abs(i - j), 0.0)
            assert SENIORITY_FIT[i, j] == pytest.approx(want, abs=1e-7), (i, j)


@pytest.mark.parametrize("weights", WEIGHTS, ids=("w4321", "w-mixed", "w-zeros"))
def test_scores_equal_the_oracle(weights: Weights) -> None:
    rng = np.random.default_rng(31)
    cands, jobs = entities(rng, "c", 17, 384), entities(rng, "j", 19, 384)
    got = scores(cands.side(), jobs.side(), weights)
    assert got.shape == (17, 19) and got.dtype == np.float32
    np.testing.assert_allclose(got, _matrices(cands, jobs, True, weights)["score"],
                               atol=TOL, rtol=0)


@pytest.mark.parametrize("name", FEATURE_NAMES)
def test_each_feature_alone_equals_the_oracle(name: str) -> None:
    """A weight vector with a single 1 makes the score that feature: each is checked alone,
    both orientations."""
    rng = np.random.default_rng(35)
    cands, jobs = entities(rng, "c", 23, 48), entities(rng, "j", 21, 48)
    want = _matrices(cands, jobs, True, ALONE[name])[name]
    assert np.count_nonzero(want) > want.size / 10  # not a matrix of zeros
    np.testing.assert_allclose(scores(cands.side(), jobs.side(), ALONE[name]), want,
                               atol=TOL, rtol=0)
    np.testing.assert_allclose(oriented_scores(jobs.side(), cands.side(), False, ALONE[name]),
                               want.T, atol=TOL, rtol=0)


def test_features_of_pairs_equal_the_oracle() -> None:
    """Arbitrary pairs, repeated and in no order, both orientations."""
    rng = np.random.default_rng(36)
    cands, jobs = entities(rng, "c", 15, 64), entities(rng, "j", 12, 64)
    want = _matrices(cands, jobs, True, WEIGHTS[0])
    ci = rng.integers(0, 15, size=200)
    ji = rng.integers(0, 12, size=200)
    got = features(cands.side(), jobs.side(), ci, ji)
    assert got.shape == (200, 4)
    for f, name in enumerate(FEATURE_NAMES):
        np.testing.assert_allclose(got[:, f], want[name][ci, ji], atol=TOL, rtol=0)
    np.testing.assert_array_equal(
        oriented_features(jobs.side(), cands.side(), False, ji, ci), got)
    assert features(cands.side(), jobs.side(), ci[:0], ji[:0]).shape == (0, 4)


def test_coverage_is_the_jobs_share_and_gated_at_three_skills() -> None:
    cands = Entities((person("c-none", []),
                      person("c-two", ["python", "sql"]),
                      person("c-two-as-four", ["python", "PYTHON", "sql", " SQL "]),
                      person("c-three", ["python", "sql", "docker"]),
                      person("c-six", ["python", "sql", "excel", "react", "ifrs", "haccp"])), 2)
    jobs = Entities((person("j-two", ["python", "sql"]),
                     person("j-three", ["Python", "Sql", "Excel"]),
                     person("j-four", ["python", "sql", "excel", "tableau"])), 2)
    got = scores(cands.side(), jobs.side(), ALONE["skills"])
    want = [[0, 0, 0],  # no skills
            [0, 0, 0],  # two skills: below the gate whatever it shares
            [0, 0, 0],  # four names, two distinct skills: below the gate
            [0, 2 / 3, 2 / 4],  # a job with two skills is gated off for everyone
            [0, 3 / 3, 3 / 4]]
    np.testing.assert_allclose(got, want, atol=1e-7, rtol=0)
    np.testing.assert_allclose(got, _matrices(cands, jobs, True, ALONE["skills"])["skills"],
                               atol=1e-7, rtol=0)


def test_seniority_by_level_names() -> None:
    cands = Entities(tuple(person(f"c-{lv}", [], lv) for lv in LEVELS), 2)
    jobs = Entities((person("j-mid", [], "mid"), person("j-exec", [], "executive")), 2)
    got = scores(cands.side(), jobs.side(), ALONE["seniority"])
    # intern junior mid senior lead principal executive vs mid, then vs executive
    want = [[1 / 3, 0], [2 / 3, 0], [1, 0], [2 / 3, 0], [1 / 3, 1 / 3], [0, 2 / 3], [0, 1]]
    np.testing.assert_allclose(got, want, atol=1e-7, rtol=0)


def test_oriented_scores_with_jobs_as_rows_is_the_transpose() -> None:
    rng = np.random.default_rng(32)
    cands, jobs = entities(rng, "c", 5, 64), entities(rng, "j", 6, 64)
    got = oriented_scores(jobs.side(), cands.side(), False, WEIGHTS[1])
    assert got.shape == (6, 5)
    np.testing.assert_allclose(got, _matrices(jobs, cands, False, WEIGHTS[1])["score"],
                               atol=TOL, rtol=0)
    np.testing.assert_array_equal(got, scores(cands.side(), jobs.side(), WEIGHTS[1]).T)


def test_side_take_is_the_side_of_those_entities() -> None:
    rng = np.random.default_rng(37)
    cands, jobs = entities(rng, "c", 9, 16), entities(rng, "j", 7, 16)
    rows = [6, 0, 3, 3]
    taken = cands.side().take(rows)
    assert taken.ids == [cands.ids[r] for r in rows]
    built = Side.of([cands.ids[r] for r in rows], [cands.items[r].entity() for r in rows],
                    dims=16)
    np.testing.assert_array_equal(scores(taken, jobs.side(), WEIGHTS[0]),
                                  scores(built, jobs.side(), WEIGHTS[0]))


def test_side_rows_must_agree() -> None:
    rng = np.random.default_rng(38)
    side = entities(rng, "c", 3, 8).side()
    with pytest.raises(ValueError):
        Side(side.ids[:2], side.vectors, side.lexical, side.skills, side.levels,
             side.entities)


def test_weights_array_round_trip() -> None:
    w = Weights(0.4, 0.3, 0.2, 0.1)
    np.testing.assert_allclose(w.as_array(), [0.4, 0.3, 0.2, 0.1], rtol=1e-7)
    assert Weights.from_array([0.4, 0.3, 0.2, 0.1]) == w
    with pytest.raises(ValueError):
        Weights.from_array([0.5, 0.5])


@pytest.mark.parametrize("new_is_candidate", [True, False])
@pytest.mark.parametrize("k", [1, 5, 40])
def test_top_k_equals_the_oracle(new_is_candidate: bool, k: int,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matching, "CHUNK_ROWS", 8)  # several chunks
    rng = np.random.default_rng(33 + k)
    new, other = entities(rng, "n", 20, 384), entities(rng, "o", 30, 384)
    best = top_k(new.side(), other.side(), new_is_candidate=new_is_candidate,
                 weights=WEIGHTS[0], k=k)
    assert len(best.columns) == len(best.scores) == 20
    assert all(len(row) == min(k, 30) for row in best.columns)
    want = oracle(new, other, own_is_candidate=new_is_candidate, weights=WEIGHTS[0])
    for i, key in enumerate(new.ids):
        assert_top_k(_as_list(best, i, other, want[key]), want[key], k, what=key)


def test_top_k_of_no_new_entity_and_against_no_other() -> None:
    rng = np.random.default_rng(34)
    none = Entities((), 16)
    some = entities(rng, "o", 4, 16)
    best = top_k(none.side(), some.side(), new_is_candidate=True, weights=WEIGHTS[0], k=3)
    assert best.columns == [] and best.scores == []
    best = top_k(some.side(), none.side(), new_is_candidate=False, weights=WEIGHTS[0], k=3)
    assert best.columns == [[]] * 4 and best.scores == [[]] * 4


@pytest.mark.parametrize("new_is_candidate", [True, False])
def test_top_k_ties_inside_the_list_by_position(new_is_candidate: bool) -> None:
    other = exact([("a", "mid"), ("b", "high"), ("c", "lex"), ("d", "mid")])
    best = top_k(OWN.side(), other.side(), new_is_candidate=new_is_candidate, weights=W_EXACT,
                 k=4)
    assert best.columns == [[1, 0, 2, 3]]
    assert best.scores == [[0.5, 0.25, 0.25, 0.25]]


@pytest.mark.parametrize("new_is_candidate", [True, False])
def test_top_k_tie_at_the_kth_place_broken_by_position(new_is_candidate: bool) -> None:
    """Scores 0.25, 0, 0.5, 0, 0.125, 0.125 and K=3: entities 4 and 5 tie for the third
    place; 4 comes first (whichever argpartition picks)."""
    s3 = ["python", "sql", "excel"]
    other = Entities((
        person("o0", [], "executive", vector=(0, 1), terms={7: 1.0}),  # lexical 0.25
        person("o1", [], "executive", vector=(0, 1)),  # 0
        person("o2", [], "executive", vector=(1, 0)),  # dense 0.5
        person("o3", [], "executive", vector=(0, 1)),  # 0
        person("o4", s3, "executive", vector=(0, 1)),  # coverage 0.125
        person("o5", [], "mid", vector=(0, 1)),  # seniority 0.125
    ), 2)
    best = top_k(OWN.side(), other.side(), new_is_candidate=new_is_candidate, weights=W_EXACT,
                 k=3)
    assert best.columns == [[2, 0, 4]]
    assert best.scores == [[0.5, 0.25, 0.125]]
    ranking = oracle(OWN, other, own_is_candidate=new_is_candidate, weights=W_EXACT)["me"]
    assert [r.id for r in ranking[:3]] == ["o2", "o0", "o4"]

