"""The cross-join's top-K lists against a brute-force oracle written from the definition.

The oracle shares no code with talentflow: for every pair it computes, in float64,

    score = 0.8 * cosine + 0.2 * coverage,  coverage = |skills(c) & skills(j)| / |skills(j)|
    (0 when the job lists no skill)

and ranks the other side by (-score, id in code point order). `full_lists` must give the
oracle's first K; `update_lists` must give, for every key it does not report as a hole, the
oracle's first K over the NEW other side, and report a hole wherever the answer needs an entity
outside (old list ∪ changed). Random data comes from seeded numpy generators (and hypothesis).

Float tolerance: talentflow scores in float32, the oracle in float64. Scores are compared to
1e-5; ids are compared exactly except inside a run of oracle scores closer than 1e-5 (where
float32 may order them either way). The tie tests use exactly representable scores (cosines
of 0/±1 and coverages of 0/1) and compare ids exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talentflow.talent.cross_join import full_lists, update_lists
from talentflow.talent.matching import Side
from talentflow.talent.value_stores import MatchList

COS_WEIGHT, SKILL_WEIGHT = 0.8, 0.2  # from the definition (not imported: the oracle is separate)
TOL = 1e-5
VOCAB = 60


# ---------------------------------------------------------------- test data

@dataclass(frozen=True)
class Entities:
    """One side as plain data: ids, unit float32 vectors, skill sets (numbers < vocab)."""

    ids: list[str]
    vectors: np.ndarray
    skills: list[frozenset[int]]

    def __post_init__(self) -> None:
        assert len(self.ids) == len(self.vectors) == len(self.skills)
        assert len(set(self.ids)) == len(self.ids)

    def side(self, vocab: int = VOCAB) -> Side:
        multi_hot = np.zeros((len(self.ids), vocab), dtype=np.float32)
        for row, skills in enumerate(self.skills):
            for s in skills:
                multi_hot[row, s] = 1.0
        return Side(list(self.ids), self.vectors.astype(np.float32), multi_hot)

    def subset(self, ids: Iterable[str]) -> Entities:
        """The rows with these ids, in the order given."""
        row = {oid: i for i, oid in enumerate(self.ids)}
        rows = [row[oid] for oid in ids]
        d = self.vectors.shape[1]
        return Entities([self.ids[i] for i in rows], self.vectors[rows].reshape(len(rows), d),
                        [self.skills[i] for i in rows])

    def sorted(self) -> Entities:
        return self.subset(sorted(self.ids))


def unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    v = rng.normal(size=(n, d))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def skill_sets(rng: np.random.Generator, n: int, vocab: int = VOCAB,
               most: int = 6) -> list[frozenset[int]]:
    """0..most skills each (so some jobs list none: coverage 0)."""
    return [frozenset(rng.choice(vocab, size=int(rng.integers(0, most + 1)),
                                 replace=False).tolist()) for _ in range(n)]


def entities(rng: np.random.Generator, prefix: str, n: int, d: int) -> Entities:
    return Entities([f"{prefix}{i:04d}" for i in range(n)], unit(rng, n, d),
                    skill_sets(rng, n))


# ---------------------------------------------------------------- the oracle

@dataclass(frozen=True)
class Scored:
    id: str
    score: float
    cosine: float
    coverage: float


def oracle(own: Entities, other: Entities, *, own_is_candidate: bool
           ) -> dict[str, list[Scored]]:
    """Every own entity's full ranking of the other side, best first, from the definition."""
    cosine = own.vectors.astype(np.float64) @ other.vectors.astype(np.float64).T
    out: dict[str, list[Scored]] = {}
    for i, key in enumerate(own.ids):
        ranking = []
        for j, oid in enumerate(other.ids):
            cand, job = ((own.skills[i], other.skills[j]) if own_is_candidate
                         else (other.skills[j], own.skills[i]))
            coverage = len(cand & job) / len(job) if job else 0.0
            cos = float(cosine[i, j])
            ranking.append(Scored(oid, COS_WEIGHT * cos + SKILL_WEIGHT * coverage, cos,
                                  coverage))
        ranking.sort(key=lambda r: (-r.score, r.id))
        out[key] = ranking
    return out


def oracle_lists(own: Entities, other: Entities, *, own_is_candidate: bool,
                 k: int) -> dict[str, MatchList]:
    """The oracle's top-K as stored lists (float32 values, as talentflow stores them)."""
    f32 = lambda x: float(np.float32(x))  # noqa: E731
    return {key: MatchList(tuple(r.id for r in ranking[:k]),
                           tuple(f32(r.score) for r in ranking[:k]),
                           tuple(f32(r.cosine) for r in ranking[:k]),
                           tuple(f32(r.coverage) for r in ranking[:k]))
            for key, ranking in oracle(own, other, own_is_candidate=own_is_candidate).items()}


def assert_top_k(got: MatchList, ranking: Sequence[Scored], k: int, *, exact: bool = False,
                 what: str = "") -> None:
    """`got` is the oracle's first K (see the module docstring for the tolerance)."""
    n = min(k, len(ranking))
    assert len(got.ids) == n, f"{what}: {len(got.ids)} entries, oracle has {n}"
    assert len(got.scores) == len(got.cosines) == len(got.skill_overlaps) == n, what
    assert len(set(got.ids)) == n, f"{what}: duplicate ids {got.ids}"
    assert list(got.scores) == sorted(got.scores, reverse=True), f"{what}: not best first"
    truth = {r.id: r for r in ranking}
    for pos, oid in enumerate(got.ids):
        assert oid in truth, f"{what}: {oid} is not on the other side"
        r = truth[oid]
        assert abs(got.scores[pos] - r.score) <= TOL, (what, oid, got.scores[pos], r.score)
        assert abs(got.cosines[pos] - r.cosine) <= TOL, (what, oid, got.cosines[pos], r.cosine)
        assert abs(got.skill_overlaps[pos] - r.coverage) <= TOL, (what, oid)
        assert abs(got.scores[pos] - ranking[pos].score) <= TOL, (
            f"{what}: position {pos} holds {oid} ({got.scores[pos]:.6f}); the oracle's entry "
            f"there is {ranking[pos].id} ({ranking[pos].score:.6f})")
    expected = [r.id for r in ranking[:n]]
    if exact:
        assert list(got.ids) == expected, what
        return
    # Runs of near-equal oracle scores: inside one, float32 may order either way.
    block_of, block, start = {}, 0, 0
    blocks: list[set[str]] = []
    for i, r in enumerate(ranking):
        if i and ranking[i - 1].score - r.score > TOL:
            blocks.append({x.id for x in ranking[start:i]})
            block, start = block + 1, i
        block_of[i] = block
    blocks.append({x.id for x in ranking[start:]})
    for pos, oid in enumerate(got.ids):
        assert oid in blocks[block_of[pos]], (
            f"{what}: position {pos} holds {oid}, oracle says {expected[pos]} "
            f"(got {list(got.ids)}, oracle {expected})")


def assert_lists(got: Mapping[str, MatchList], want: Mapping[str, list[Scored]], k: int,
                 *, exact: bool = False) -> None:
    for key, lst in got.items():
        assert_top_k(lst, want[key], k, exact=exact, what=key)


# ---------------------------------------------------------------- changes to the other side

@dataclass(frozen=True)
class Change:
    old_other: Entities  # id-ordered
    new_other: Entities  # id-ordered
    changed: Entities  # the changed entities that still exist, in no particular order
    changed_ids: list[str]  # every changed id, including deleted ones


KINDS = ("new", "vector", "skills", "drop", "delete")


def change(rng: np.random.Generator, own: Entities, old_other: Entities,
           kinds: Sequence[str], targets: Sequence[str] | None = None) -> Change:
    """Apply one change per kind. `targets` (existing ids) are used first by the kinds that
    edit an entity; then random existing ids. "drop": the entity turns away from the own side
    and loses its skills, so it falls out of every list it was in."""
    d = old_other.vectors.shape[1]
    ids, vectors = list(old_other.ids), old_other.vectors.copy()
    skills = list(old_other.skills)
    pool = list(targets or [])
    rest = [oid for oid in rng.permutation(old_other.ids).tolist() if oid not in pool]
    pool += rest
    away = -own.vectors.astype(np.float64).mean(axis=0)
    changed_ids: list[str] = []
    deleted: set[str] = set()
    for n, kind in enumerate(kinds):
        if kind == "new" or not pool:
            # Ids that sort between the old ones (code point order), not only after them.
            base = ids[int(rng.integers(len(ids)))] if ids else "j"
            new_id = f"{base}+{n}"
            ids.append(new_id)
            vectors = np.vstack([vectors.reshape(-1, d), unit(rng, 1, d)])
            skills.append(skill_sets(rng, 1)[0])
            changed_ids.append(new_id)
            continue
        oid = pool.pop(0)
        row = ids.index(oid)
        changed_ids.append(oid)
        if kind == "vector":
            vectors[row] = unit(rng, 1, d)[0]
        elif kind == "skills":
            skills[row] = skill_sets(rng, 1)[0]
        elif kind == "drop":
            v = away + 0.05 * rng.normal(size=d) * np.linalg.norm(away)
            vectors[row] = (v / np.linalg.norm(v)).astype(np.float32)
            skills[row] = frozenset()
        elif kind == "delete":
            deleted.add(oid)
        else:
            raise ValueError(kind)
    world = Entities(ids, vectors.reshape(len(ids), d), skills)
    new_other = world.subset(sorted(set(ids) - deleted))
    alive = [oid for oid in changed_ids if oid not in deleted]
    changed = new_other.subset(rng.permutation(alive).tolist() if alive else [])
    return Change(old_other, new_other, changed, changed_ids)


@dataclass(frozen=True)
class Outcome:
    holes: set[str]
    needed_outside: set[str]  # keys whose new top-K needs an entity outside old list ∪ changed
    lost_but_exact: set[str]  # keys that lost an old entry and still came back exact


def check_update(own: Entities, ch: Change, k: int, *, own_is_candidate: bool,
                 old_lists: Mapping[str, MatchList] | None = None,
                 exact: bool = False) -> Outcome:
    """Everything `update_lists` promises, checked against the oracle over the new side."""
    if old_lists is None:
        old_lists = full_lists(own.side(), ch.old_other.side(), own_is_candidate=own_is_candidate,
                               k=k)
        assert_lists(old_lists, oracle(own, ch.old_other, own_is_candidate=own_is_candidate), k)
    lists, holes = update_lists(own.side(), old_lists, ch.changed.side(), ch.changed_ids,
                                own_is_candidate=own_is_candidate, k=k)
    want = oracle(own, ch.new_other, own_is_candidate=own_is_candidate)
    assert len(holes) == len(set(holes)), "a key reported twice as a hole"
    hole_set = set(holes)

    # 1. Exact lists and holes partition the keys.
    assert hole_set.isdisjoint(lists), "a key is both returned and a hole"
    assert set(lists) | hole_set == set(own.ids)
    # 2. Every returned list is the oracle's top-K over the new other side.
    assert_lists(lists, want, k, exact=exact)

    # 3. Holes: every key that needs an outsider is one; every hole is a key at risk (its old
    #    list was full and lost an entry); and the documented rule, from the oracle.
    changed = set(ch.changed_ids)
    needed, lost_exact = set(), set()
    for key in own.ids:
        old = old_lists[key]
        kept = [oid for oid in old.ids[:k] if oid not in changed]
        available = set(kept) | set(ch.changed.ids)
        ranking = want[key]
        n = min(k, len(ranking))
        mine = [r for r in ranking if r.id in available]
        if exact:  # real ties: an outsider tied at the K-th place with a lower id counts
            if not {r.id for r in ranking[:n]} <= available:
                needed.add(key)
        elif n and (len(mine) < n or mine[n - 1].score < ranking[n - 1].score - TOL):
            needed.add(key)
        at_risk = len(old.ids) >= k and len(kept) < min(len(old.ids), k)
        if not at_risk:
            assert key not in hole_set, f"{key}: a hole although it lost nothing of a full list"
            continue
        if key not in hole_set:
            lost_exact.add(key)
        kth_old = old.scores[k - 1]
        kth_merged = mine[k - 1].score if len(mine) >= k else -np.inf
        margin = 0 if exact else TOL
        if kth_merged > kth_old + margin:
            assert key not in hole_set, f"{key}: provably exact but reported as a hole"
        elif kth_merged < kth_old - margin or exact:
            assert key in hole_set, f"{key}: K-th {kth_merged} not above {kth_old}: a hole"
    missing = needed - hole_set
    assert not missing, f"keys that need entities outside old list ∪ changed: {sorted(missing)}"

    # 4. Recomputing the holes in full completes the picture.
    if holes:
        redo = full_lists(own.subset(holes).side(), ch.new_other.side(),
                          own_is_candidate=own_is_candidate, k=k)
        assert set(redo) == hole_set
        assert_lists(redo, want, k, exact=exact)
        lists = {**lists, **redo}
    assert set(lists) == set(own.ids)
    return Outcome(hole_set, needed, lost_exact)


def popular(lists: Mapping[str, MatchList], n: int) -> list[str]:
    """The n other-side ids found in the most lists."""
    count: dict[str, int] = {}
    for lst in lists.values():
        for oid in lst.ids:
            count[oid] = count.get(oid, 0) + 1
    return sorted(count, key=lambda oid: (-count[oid], oid))[:n]


# ---------------------------------------------------------------- full lists

@pytest.mark.parametrize("own_is_candidate", [True, False])
@pytest.mark.parametrize("seed", [1, 2])
def test_full_lists_equal_the_oracle(own_is_candidate: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    own, other = entities(rng, "o", 150, 384), entities(rng, "x", 90, 384)
    for k in (1, 10):
        got = full_lists(own.side(), other.side(), own_is_candidate=own_is_candidate, k=k)
        assert set(got) == set(own.ids)
        assert_lists(got, oracle(own, other, own_is_candidate=own_is_candidate), k)


def test_full_lists_over_several_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    from talentflow.talent import matching

    monkeypatch.setattr(matching, "CHUNK_ROWS", 7)
    rng = np.random.default_rng(3)
    own, other = entities(rng, "c", 30, 32), entities(rng, "j", 25, 32)
    got = full_lists(own.side(), other.side(), own_is_candidate=True, k=4)
    assert list(got) == own.ids
    assert_lists(got, oracle(own, other, own_is_candidate=True), 4)


@pytest.mark.parametrize("own_is_candidate", [True, False])
def test_full_lists_k_larger_than_the_other_side(own_is_candidate: bool) -> None:
    rng = np.random.default_rng(4)
    own, other = entities(rng, "o", 12, 64), entities(rng, "x", 5, 64)
    got = full_lists(own.side(), other.side(), own_is_candidate=own_is_candidate, k=10)
    assert all(len(lst) == 5 for lst in got.values())
    assert_lists(got, oracle(own, other, own_is_candidate=own_is_candidate), 10)


def test_full_lists_against_an_empty_other_side() -> None:
    rng = np.random.default_rng(5)
    own = entities(rng, "c", 3, 16)
    empty = Entities([], np.zeros((0, 16), np.float32), [])
    got = full_lists(own.side(), empty.side(), own_is_candidate=True, k=3)
    assert got == {key: MatchList((), (), (), ()) for key in own.ids}


# ---------------------------------------------------------------- incremental, seeded

@pytest.mark.parametrize("own_is_candidate", [True, False])
@pytest.mark.parametrize("seed", [11, 12, 13])
def test_update_lists_equal_the_oracle_over_the_new_side(own_is_candidate: bool,
                                                         seed: int) -> None:
    """New, re-embedded, re-skilled, sharply dropped and deleted entities, the drops and
    deletions aimed at the entities in the most lists."""
    rng = np.random.default_rng(seed)
    k = 10
    own, old_other = entities(rng, "o", 120, 384), entities(rng, "x", 80, 384)
    old = full_lists(own.side(), old_other.side(), own_is_candidate=own_is_candidate, k=k)
    kinds = ["drop"] * 4 + ["delete"] * 2 + ["vector"] * 3 + ["skills"] * 2 + ["new"] * 3
    ch = change(rng, own, old_other, kinds, targets=popular(old, 6))
    out = check_update(own, ch, k, own_is_candidate=own_is_candidate, old_lists=old)
    # Not vacuous: the scenario needs holes, and some keys that lost entries stay exact.
    assert out.needed_outside, "no key needed an outsider: the hole rule was not exercised"
    assert out.lost_but_exact, "every key that lost an entry became a hole"
    assert len(out.holes) < len(own.ids)


@pytest.mark.parametrize("own_is_candidate", [True, False])
def test_update_lists_only_new_entities_gives_no_hole(own_is_candidate: bool) -> None:
    rng = np.random.default_rng(21)
    own, old_other = entities(rng, "o", 60, 128), entities(rng, "x", 40, 128)
    ch = change(rng, own, old_other, ["new"] * 6)
    out = check_update(own, ch, 5, own_is_candidate=own_is_candidate)
    assert out.holes == set()


@pytest.mark.parametrize("own_is_candidate", [True, False])
def test_update_lists_with_no_change_returns_the_old_lists(own_is_candidate: bool) -> None:
    rng = np.random.default_rng(22)
    own, other = entities(rng, "o", 40, 64), entities(rng, "x", 30, 64)
    old = full_lists(own.side(), other.side(), own_is_candidate=own_is_candidate, k=6)
    none = Entities([], np.zeros((0, 64), np.float32), [])
    lists, holes = update_lists(own.side(), old, none.side(), [],
                                own_is_candidate=own_is_candidate, k=6)
    assert holes == []
    assert lists == old


@pytest.mark.parametrize("own_is_candidate", [True, False])
def test_update_lists_k_larger_than_the_other_side(own_is_candidate: bool) -> None:
    """Old lists shorter than K hold the whole old side: always exact, never a hole."""
    rng = np.random.default_rng(23)
    own, old_other = entities(rng, "o", 30, 64), entities(rng, "x", 8, 64)
    ch = change(rng, own, old_other, ["new", "new", "delete", "drop", "vector", "skills"])
    out = check_update(own, ch, 50, own_is_candidate=own_is_candidate)
    assert out.holes == set()


@pytest.mark.parametrize("own_is_candidate", [True, False])
def test_update_lists_deleted_entities_disappear(own_is_candidate: bool) -> None:
    """Changed ids with no vector any more: their entries go; those keys are exact or holes."""
    rng = np.random.default_rng(24)
    k = 5
    own, old_other = entities(rng, "o", 50, 64), entities(rng, "x", 30, 64)
    old = full_lists(own.side(), old_other.side(), own_is_candidate=own_is_candidate, k=k)
    gone = popular(old, 3)
    ch = change(rng, own, old_other, ["delete"] * 3, targets=gone)
    assert ch.changed.ids == [] and set(ch.changed_ids) == set(gone)
    out = check_update(own, ch, k, own_is_candidate=own_is_candidate, old_lists=old)
    lists, _ = update_lists(own.side(), old, ch.changed.side(), ch.changed_ids,
                            own_is_candidate=own_is_candidate, k=k)
    assert all(set(lst.ids).isdisjoint(gone) for lst in lists.values())
    assert out.holes  # a full list that lost an entry and gained nothing cannot be proven


@pytest.mark.parametrize("own_is_candidate", [True, False])
@pytest.mark.parametrize("k", [3, 20])
def test_update_lists_the_whole_other_side_deleted(own_is_candidate: bool, k: int) -> None:
    rng = np.random.default_rng(25)
    own, old_other = entities(rng, "o", 10, 32), entities(rng, "x", 6, 32)
    ch = change(rng, own, old_other, ["delete"] * 6)
    assert ch.new_other.ids == []
    out = check_update(own, ch, k, own_is_candidate=own_is_candidate)
    # Full lists (k=3) cannot prove that nothing is left outside; short ones (k=20) can.
    assert out.holes == (set(own.ids) if k <= 6 else set())


# ---------------------------------------------------------------- incremental, property

@settings(max_examples=50, deadline=None)
@given(n_own=st.integers(1, 25), n_other=st.integers(0, 30), d=st.sampled_from([3, 16, 48]),
       k=st.integers(1, 12), kinds=st.lists(st.sampled_from(KINDS), max_size=12),
       aim=st.booleans(), own_is_candidate=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_update_lists_property(n_own: int, n_other: int, d: int, k: int, kinds: list[str],
                               aim: bool, own_is_candidate: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    own, old_other = entities(rng, "o", n_own, d), entities(rng, "x", n_other, d)
    old = full_lists(own.side(), old_other.side(), own_is_candidate=own_is_candidate, k=k)
    ch = change(rng, own, old_other, kinds, targets=popular(old, len(kinds)) if aim else None)
    check_update(own, ch, k, own_is_candidate=own_is_candidate, old_lists=old)


# ---------------------------------------------------------------- ties (exact arithmetic)
# Vectors are basis vectors (cosines exactly 0 or ±1) and coverages 0 or 1, so every score is
# one of -0.8, 0, 0.2, 0.8 in float32 and float64 alike: ties are real ties.

E0, E1 = np.array([1, 0], np.float32), np.array([0, 1], np.float32)


def exact(rows: Sequence[tuple[str, np.ndarray, set[int]]]) -> Entities:
    return Entities([r[0] for r in rows], np.vstack([r[1] for r in rows]).reshape(len(rows), 2),
                    [frozenset(r[2]) for r in rows])


# The own entity likes E0 and skill 0 (as a candidate or as a job: coverage is 1 either way
# between two entities listing exactly skill 0).
OWN = exact([("me", E0, {0})])


@pytest.mark.parametrize("own_is_candidate", [True, False])
def test_full_lists_ties_inside_the_list_in_code_point_order(own_is_candidate: bool) -> None:
    ids = ["a", "B", "é", "z", "m"]  # code point order: B < a < m < z < é
    other = exact([("top", E0, set())] + [(i, E1, {0}) for i in ids]).sorted()
    got = full_lists(OWN.side(), other.side(), own_is_candidate=own_is_candidate, k=6)
    assert got["me"].ids == ("top", "B", "a", "m", "z", "é")
    assert got["me"].scores == pytest.approx([0.8, 0.2, 0.2, 0.2, 0.2, 0.2])
    assert_lists(got, oracle(OWN, other, own_is_candidate=own_is_candidate), 6, exact=True)


@pytest.mark.parametrize("own_is_candidate", [True, False])
def test_full_lists_duplicates_at_the_boundary_broken_by_id(own_is_candidate: bool) -> None:
    """300 identical entities and K=3: the three lowest ids."""
    other = exact([("0-far", -E0, set())] + [(f"dup{i:03d}", E1, {0}) for i in range(300)])
    got = full_lists(OWN.side(), other.side(), own_is_candidate=own_is_candidate, k=3)
    assert got["me"].ids == ("dup000", "dup001", "dup002")


@pytest.mark.parametrize("own_is_candidate", [True, False])
def test_update_lists_ties_with_changed_entities_broken_by_id(own_is_candidate: bool) -> None:
    """Old list [b, d] (f tied with d, outside). New c ties with d and has a lower id: it
    enters; new e ties too but sorts after d: it does not; new a falls far below."""
    old_other = exact([("b", E0, set()), ("d", E1, {0}), ("f", E1, {0}), ("h", E1, set())])
    new_other = exact([("a", -E0, set()), ("b", E0, set()), ("c", E1, {0}), ("d", E1, {0}),
                       ("e", E1, {0}), ("f", E1, {0}), ("h", E1, set())])
    ch = Change(old_other, new_other, new_other.subset(["e", "a", "c"]), ["e", "a", "c"])
    old = oracle_lists(OWN, old_other, own_is_candidate=own_is_candidate, k=2)
    assert old["me"].ids == ("b", "d")
    out = check_update(OWN, ch, 2, own_is_candidate=own_is_candidate, old_lists=old, exact=True)
    assert out.holes == set()


@pytest.mark.parametrize("own_is_candidate", [True, False])
def test_update_lists_tie_with_an_outsider_is_a_hole(own_is_candidate: bool) -> None:
    """Old list [a, b] with c outside, tied with b. a drops and a new z ties with b: merging
    gives [b, z], but the right answer is [b, c] (c < z) and c is outside old list ∪ changed:
    the K-th score did not rise above the old K-th, so the key must be a hole."""
    old_other = exact([("a", E0, set()), ("b", E1, {0}), ("c", E1, {0})])
    new_other = exact([("a", -E0, set()), ("b", E1, {0}), ("c", E1, {0}), ("z", E1, {0})])
    ch = Change(old_other, new_other, new_other.subset(["z", "a"]), ["a", "z"])
    old = oracle_lists(OWN, old_other, own_is_candidate=own_is_candidate, k=2)
    assert old["me"].ids == ("a", "b")
    assert [r.id for r in oracle(OWN, new_other, own_is_candidate=own_is_candidate)["me"][:2]
            ] == ["b", "c"]
    out = check_update(OWN, ch, 2, own_is_candidate=own_is_candidate, old_lists=old, exact=True)
    assert out.needed_outside == out.holes == {"me"}
