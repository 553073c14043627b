"""The cross-join's top-K lists against a brute-force oracle written from the definition.

The oracle shares no code with talentflow (no matching or lexical helper, no constant): for
every (candidate, job) pair it computes, in float64,

    score    = w.dense * dense + w.lexical * lexical + w.skills * skills + w.seniority * fit
    dense    = cosine of the two dense vectors
    lexical  = dot product of the two lexical vectors (plain dicts term -> weight, unit norm)
    skills   = |fold(skills(c)) & fold(skills(j))| / |fold(skills(j))|, and 0 unless BOTH
               sides have at least 3 distinct folded skills (fold: case and spacing ignored)
    fit      = max(0, 1 - |level(c) - level(j)| / 3), levels intern .. executive

and ranks the other side by (-score, id in code point order). Each entry also carries the four
features, the job's skills the candidate has (job's order and spelling, compared folded) and
the job's must-haves the candidate lacks. `full_lists` must give the oracle's first K;
`update_lists` must give, for every key it does not report as a hole, the oracle's first K over
the NEW other side, and report a hole wherever the answer needs an entity outside (old list ∪
changed). Lexical vectors are built here as dicts and turned into `LexicalVector`s only to feed
the code under test. Random data comes from seeded numpy generators (and hypothesis), scored
with non-trivial weights (several sets, some with a zero weight), not only the shipped ones.

Float tolerance: talentflow scores in float32, the oracle in float64. Scores and features are
compared to 1e-5; ids are compared exactly except inside a run of oracle scores closer than
1e-5 (where float32 may order them either way). The tie tests use exactly representable
values (dyadic weights, cosines of 0/±1, a one-term lexical vector, coverages 0/1, seniority
fits 0/1), so their ties are real ties, and compare ids exactly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talentflow.talent import matching
from talentflow.talent.cross_join import full_lists, update_lists
from talentflow.talent.lexical import LexicalVector
from talentflow.talent.matching import Entity, Side, Weights
from talentflow.talent.value_stores import Match, MatchList

# From the definition (written out, not imported: the oracle is separate).
LEVELS = ("intern", "junior", "mid", "senior", "lead", "principal", "executive")
GATE = 3  # distinct folded skills each side needs for coverage to count
TOL = 1e-5

# Non-trivial weights: two sets, and one with zero weights (the code skips those products,
# yet must still report the features).
WEIGHTS = (Weights(0.4, 0.3, 0.2, 0.1), Weights(0.17, 0.29, 0.33, 0.21),
           Weights(0.55, 0.0, 0.45, 0.0))
W_IDS = ("w4321", "w-mixed", "w-zeros")

SKILLS = ("python", "sql", "machine learning", "excel", "payroll", "react", "node.js", "c++",
          "project management", "haccp", "ifrs", "docker", "kubernetes", "tableau")
# Term ids spread over the hash space (any int32 below 2**24 is a valid id).
TERMS = tuple((i * 2_654_435_761) % (1 << 24) for i in range(1, 41))


def fold(name: str) -> str:
    """How skills compare, from the definition: case and spacing do not matter."""
    return " ".join(name.lower().split())


# ---------------------------------------------------------------- test data

@dataclass(frozen=True)
class Item:
    """One entity as plain data."""

    id: str
    vector: np.ndarray  # float32 unit vector
    terms: Mapping[int, float]  # lexical vector: term id -> weight (unit norm, or empty)
    skills: tuple[str, ...]
    must_haves: tuple[str, ...]
    level: str

    def entity(self) -> Entity:
        """The entity as the code under test takes it."""
        ids = sorted(self.terms)
        lex = LexicalVector(np.asarray(ids, dtype=np.int32),
                            np.asarray([self.terms[t] for t in ids], dtype=np.float32))
        return Entity(np.asarray(self.vector, dtype=np.float32), lex, tuple(self.skills),
                      tuple(self.must_haves), self.level)


@dataclass(frozen=True)
class Entities:
    items: tuple[Item, ...]
    dims: int

    def __post_init__(self) -> None:
        assert len(set(self.ids)) == len(self.ids)

    @property
    def ids(self) -> list[str]:
        return [x.id for x in self.items]

    def side(self) -> Side:
        return Side.of(self.ids, [x.entity() for x in self.items], dims=self.dims)

    def subset(self, ids: Sequence[str]) -> Entities:
        """The items with these ids, in the order given."""
        by_id = {x.id: x for x in self.items}
        return Entities(tuple(by_id[i] for i in ids), self.dims)

    def sorted(self) -> Entities:
        return self.subset(sorted(self.ids))


def unit(rng: np.random.Generator, d: int) -> np.ndarray:
    v = rng.normal(size=d)
    return (v / np.linalg.norm(v)).astype(np.float32)


def spell(rng: np.random.Generator, name: str) -> str:
    """The skill written one of the ways a CV or a posting might write it."""
    way = int(rng.integers(5))
    if way == 1:
        return name.upper()
    if way == 2:
        return name.title()
    if way == 3:
        return "  " + name.replace(" ", "   ") + " "
    if way == 4:
        return name.capitalize()
    return name


def skill_list(rng: np.random.Generator, most: int = 6) -> tuple[str, ...]:
    """0..most distinct skills, spelled variously; sometimes one repeated in another spelling
    (more names than distinct folded skills: the gate counts the latter)."""
    names = [spell(rng, str(s)) for s in
             rng.choice(SKILLS, size=int(rng.integers(0, most + 1)), replace=False)]
    if names and rng.random() < 0.3:
        names.insert(int(rng.integers(len(names) + 1)),
                     spell(rng, fold(names[int(rng.integers(len(names)))])))
    return tuple(names)


def must_haves(rng: np.random.Generator, skills: Sequence[str]) -> tuple[str, ...]:
    """Up to 2 of the skills (possibly spelled otherwise), sometimes one not listed."""
    picked = [spell(rng, fold(s)) for s in rng.permutation(list(skills))[:int(rng.integers(3))]]
    if rng.random() < 0.3:
        picked.append(spell(rng, str(rng.choice(SKILLS))))
    return tuple(picked)


def term_weights(rng: np.random.Generator, most: int = 8) -> dict[int, float]:
    picked = rng.choice(TERMS, size=int(rng.integers(0, most + 1)), replace=False)
    w = rng.uniform(0.05, 1.0, size=len(picked))
    w = w / np.linalg.norm(w) if len(w) else w
    return {int(t): float(x) for t, x in zip(picked, w, strict=True)}


def item(rng: np.random.Generator, oid: str, d: int) -> Item:
    skills = skill_list(rng)
    return Item(oid, unit(rng, d), term_weights(rng), skills, must_haves(rng, skills),
                str(rng.choice(LEVELS)))


def entities(rng: np.random.Generator, prefix: str, n: int, d: int) -> Entities:
    return Entities(tuple(item(rng, f"{prefix}{i:04d}", d) for i in range(n)), d)


# ---------------------------------------------------------------- the oracle

@dataclass(frozen=True)
class Scored:
    id: str
    score: float
    dense: float
    lexical: float
    skills: float
    seniority: float
    shared: tuple[str, ...]
    missing: tuple[str, ...]


def pair(cand: Item, job: Item, cosine: float, w: Weights) -> tuple[float, ...]:
    """(score, dense, lexical, skills, seniority) of one pair, float64."""
    cn = sum(x * x for x in cand.terms.values()) ** 0.5
    jn = sum(x * x for x in job.terms.values()) ** 0.5
    lexical = (sum(x * job.terms.get(t, 0.0) for t, x in cand.terms.items()) / (cn * jn)
               if cn and jn else 0.0)
    cs, js = {fold(s) for s in cand.skills}, {fold(s) for s in job.skills}
    skills = len(cs & js) / len(js) if len(cs) >= GATE and len(js) >= GATE else 0.0
    fit = max(0.0, 1.0 - abs(LEVELS.index(cand.level) - LEVELS.index(job.level)) / 3.0)
    score = (w.dense * cosine + w.lexical * lexical + w.skills * skills
             + w.seniority * fit)
    return score, cosine, lexical, skills, fit


def cosines(a: Entities, b: Entities) -> np.ndarray:
    def normed(e: Entities) -> np.ndarray:
        v = np.asarray([x.vector for x in e.items], dtype=np.float64).reshape(-1, e.dims)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    return normed(a) @ normed(b).T


def oracle(own: Entities, other: Entities, *, own_is_candidate: bool, weights: Weights
           ) -> dict[str, list[Scored]]:
    """Every own entity's full ranking of the other side, best first, from the definition."""
    cos = cosines(own, other)
    out: dict[str, list[Scored]] = {}
    for i, x in enumerate(own.items):
        ranking = []
        for j, y in enumerate(other.items):
            cand, job = (x, y) if own_is_candidate else (y, x)
            have = {fold(s) for s in cand.skills}
            ranking.append(Scored(
                y.id, *pair(cand, job, float(cos[i, j]), weights),
                shared=tuple(s for s in job.skills if fold(s) in have),
                missing=tuple(s for s in job.must_haves if fold(s) not in have)))
        ranking.sort(key=lambda r: (-r.score, r.id))
        out[x.id] = ranking
    return out


def oracle_lists(own: Entities, other: Entities, *, own_is_candidate: bool, weights: Weights,
                 k: int) -> dict[str, MatchList]:
    """The oracle's top-K as stored lists (float32 values, as talentflow stores them)."""
    def f32(x: float) -> float:
        return float(np.float32(x))

    return {key: MatchList(tuple(
        Match(r.id, f32(r.score), f32(r.dense), f32(r.lexical), f32(r.skills),
              f32(r.seniority), r.shared, r.missing) for r in ranking[:k]))
        for key, ranking in oracle(own, other, own_is_candidate=own_is_candidate,
                                   weights=weights).items()}


def assert_top_k(got: MatchList, ranking: Sequence[Scored], k: int, *, exact: bool = False,
                 what: str = "") -> None:
    """`got` is the oracle's first K (see the module docstring for the tolerance)."""
    n = min(k, len(ranking))
    assert isinstance(got, MatchList), what
    assert len(got) == n, f"{what}: {len(got)} entries, oracle has {n}"
    assert len(set(got.ids)) == n, f"{what}: duplicate ids {got.ids}"
    assert list(got.scores) == sorted(got.scores, reverse=True), f"{what}: not best first"
    truth = {r.id: r for r in ranking}
    for pos, m in enumerate(got.matches):
        assert m.id in truth, f"{what}: {m.id} is not on the other side"
        r = truth[m.id]
        for name in ("score", "dense", "lexical", "skills", "seniority"):
            assert abs(getattr(m, name) - getattr(r, name)) <= TOL, (
                what, m.id, name, getattr(m, name), getattr(r, name))
        assert m.shared_skills == r.shared, (what, m.id, m.shared_skills, r.shared)
        assert m.missing_must_haves == r.missing, (what, m.id, m.missing_must_haves, r.missing)
        assert abs(m.score - ranking[pos].score) <= TOL, (
            f"{what}: position {pos} holds {m.id} ({m.score:.6f}); the oracle's entry "
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


KINDS = ("new", "vector", "lexical", "skills", "level", "drop", "delete")


def change(rng: np.random.Generator, own: Entities, old_other: Entities,
           kinds: Sequence[str], targets: Sequence[str] | None = None) -> Change:
    """Apply one change per kind. `targets` (existing ids) are used first by the kinds that
    edit an entity; then random existing ids. "drop": the entity turns away from the own side
    (dense vector opposite to theirs, no lexical term, fewer skills than the gate, the level
    farthest from theirs), so it falls out of the lists it was in."""
    d = old_other.dims
    world = {x.id: x for x in old_other.items}
    order = list(old_other.ids)
    pool = list(targets or [])
    pool += [oid for oid in rng.permutation(old_other.ids).tolist() if oid not in pool]
    own_v = np.asarray([x.vector for x in own.items], dtype=np.float64).reshape(-1, d)
    away = -own_v.mean(axis=0)
    mean_level = np.mean([LEVELS.index(x.level) for x in own.items])
    far = LEVELS[0] if mean_level > (len(LEVELS) - 1) / 2 else LEVELS[-1]
    changed_ids: list[str] = []
    deleted: set[str] = set()
    for n, kind in enumerate(kinds):
        if kind == "new" or not pool:
            # Ids that sort between the old ones (code point order), not only after them.
            base = order[int(rng.integers(len(order)))] if order else "j"
            new_id = f"{base}+{n}"
            world[new_id] = item(rng, new_id, d)
            order.append(new_id)
            changed_ids.append(new_id)
            continue
        oid = pool.pop(0)
        changed_ids.append(oid)
        old = world[oid]
        if kind == "vector":
            world[oid] = replace(old, vector=unit(rng, d))
        elif kind == "lexical":
            world[oid] = replace(old, terms=term_weights(rng))
        elif kind == "skills":
            skills = skill_list(rng)
            world[oid] = replace(old, skills=skills, must_haves=must_haves(rng, skills))
        elif kind == "level":
            world[oid] = replace(old, level=str(rng.choice(LEVELS)))
        elif kind == "drop":
            v = away + 0.05 * rng.normal(size=d) * max(np.linalg.norm(away), 1e-3)
            if not np.linalg.norm(v):
                v = rng.normal(size=d)
            world[oid] = replace(old, vector=(v / np.linalg.norm(v)).astype(np.float32),
                                 terms={}, skills=old.skills[:2], level=far)
        elif kind == "delete":
            deleted.add(oid)
        else:
            raise ValueError(kind)
    new_other = Entities(tuple(world[i] for i in sorted(set(order) - deleted)), d)
    alive = [oid for oid in changed_ids if oid not in deleted]
    changed = new_other.subset(rng.permutation(alive).tolist() if alive else [])
    return Change(old_other, new_other, changed, changed_ids)


@dataclass(frozen=True)
class Outcome:
    holes: set[str]
    needed_outside: set[str]  # keys whose new top-K needs an entity outside old list ∪ changed
    lost_but_exact: set[str]  # keys that lost an old entry and still came back exact


def check_update(own: Entities, ch: Change, k: int, *, own_is_candidate: bool,
                 weights: Weights, old_lists: Mapping[str, MatchList] | None = None,
                 exact: bool = False) -> Outcome:
    """Everything `update_lists` promises, checked against the oracle over the new side."""
    if old_lists is None:
        old_lists = full_lists(own.side(), ch.old_other.side(),
                               own_is_candidate=own_is_candidate, weights=weights, k=k)
        assert_lists(old_lists, oracle(own, ch.old_other, own_is_candidate=own_is_candidate,
                                       weights=weights), k)
    lists, holes = update_lists(own.side(), old_lists, ch.changed.side(), ch.changed_ids,
                                own_is_candidate=own_is_candidate, weights=weights, k=k)
    want = oracle(own, ch.new_other, own_is_candidate=own_is_candidate, weights=weights)
    assert len(holes) == len(set(holes)), "a key reported twice as a hole"
    hole_set = set(holes)

    # 1. Exact lists and holes partition the keys.
    assert hole_set.isdisjoint(lists), "a key is both returned and a hole"
    assert set(lists) | hole_set == set(own.ids)
    # 2. Every returned list is the oracle's top-K over the new other side (explanations too).
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
                          own_is_candidate=own_is_candidate, weights=weights, k=k)
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


# ---------------------------------------------------------------- the test data itself

def test_the_random_data_exercises_every_feature() -> None:
    """Not vacuous: random pairs get every feature, gated coverage and explanations."""
    rng = np.random.default_rng(0)
    own, other = entities(rng, "c", 60, 32), entities(rng, "j", 60, 32)
    rows = [r for ranking in oracle(own, other, own_is_candidate=True,
                                    weights=WEIGHTS[0]).values() for r in ranking]
    assert sum(r.lexical > 0.1 for r in rows) > len(rows) / 10
    assert sum(r.skills > 0 for r in rows) > len(rows) / 20
    gated = [r for r in rows if r.skills == 0 and r.shared]
    assert gated, "no pair shares skills while a side is below the gate"
    assert {round(r.seniority, 6) for r in rows} == {0.0, round(1 / 3, 6), round(2 / 3, 6), 1.0}
    assert any(r.missing for r in rows) and any(r.shared for r in rows)
    # Some skill lists name one skill twice (another spelling): names > distinct skills.
    assert any(len(x.skills) > len({fold(s) for s in x.skills}) for x in own.items)


# ---------------------------------------------------------------- full lists

@pytest.mark.parametrize("weights", WEIGHTS, ids=W_IDS)
@pytest.mark.parametrize("own_is_candidate", [True, False])
@pytest.mark.parametrize("seed", [1, 2])
def test_full_lists_equal_the_oracle(own_is_candidate: bool, seed: int,
                                     weights: Weights) -> None:
    rng = np.random.default_rng(seed)
    own, other = entities(rng, "o", 120, 384), entities(rng, "x", 90, 384)
    want = oracle(own, other, own_is_candidate=own_is_candidate, weights=weights)
    for k in (1, 10):
        got = full_lists(own.side(), other.side(), own_is_candidate=own_is_candidate,
                         weights=weights, k=k)
        assert set(got) == set(own.ids)
        assert_lists(got, want, k)


@pytest.mark.parametrize("own_is_candidate", [True, False])
def test_full_lists_over_several_chunks(own_is_candidate: bool,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matching, "CHUNK_ROWS", 7)
    rng = np.random.default_rng(3)
    own, other = entities(rng, "c", 30, 32), entities(rng, "j", 25, 32)
    got = full_lists(own.side(), other.side(), own_is_candidate=own_is_candidate,
                     weights=WEIGHTS[1], k=4)
    assert list(got) == own.ids
    assert_lists(got, oracle(own, other, own_is_candidate=own_is_candidate,
                             weights=WEIGHTS[1]), 4)


@pytest.mark.parametrize("own_is_candidate", [True, False])
def test_full_lists_k_larger_than_the_other_side(own_is_candidate: bool) -> None:
    rng = np.random.default_rng(4)
    own, other = entities(rng, "o", 12, 64), entities(rng, "x", 5, 64)
    got = full_lists(own.side(), other.side(), own_is_candidate=own_is_candidate,
                     weights=WEIGHTS[0], k=10)
    assert all(len(lst) == 5 for lst in got.values())
    assert_lists(got, oracle(own, other, own_is_candidate=own_is_candidate,
                             weights=WEIGHTS[0]), 10)


def test_full_lists_against_an_empty_other_side() -> None:
    rng = np.random.default_rng(5)
    own = entities(rng, "c", 3, 16)
    empty = Entities((), 16)
    got = full_lists(own.side(), empty.side(), own_is_candidate=True, weights=WEIGHTS[0], k=3)
    assert got == {key: MatchList(()) for key in own.ids}


# ---------------------------------------------------------------- explanations, gate, orientation

def person(oid: str, skills: Sequence[str], level: str = "mid", must: Sequence[str] = (),
           vector: Sequence[float] = (1.0, 0.0), terms: Mapping[int, float] | None = None
           ) -> Item:
    return Item(oid, np.asarray(vector, np.float32), dict(terms or {}), tuple(skills),
                tuple(must), level)


def test_explanation_lists_the_jobs_skills_and_the_missing_must_haves() -> None:
    """Shared skills: the job's, in the job's order and spelling, compared folded. Missing
    must-haves: the job's the candidate lacks; a candidate's own must-haves count for nothing."""
    job = person("j", ["Machine  Learning", "SQL", "Excel", "Payroll"],
                 must=["sql", "payroll", "IFRS"])
    cand = person("c", ["excel", " sql", "machine learning", "Docker"],
                  must=["kubernetes", "tableau"])
    jobs, cands = Entities((job,), 2), Entities((cand,), 2)
    as_candidate = full_lists(cands.side(), jobs.side(), own_is_candidate=True,
                              weights=WEIGHTS[0], k=1)["c"].matches[0]
    as_job = full_lists(jobs.side(), cands.side(), own_is_candidate=False,
                        weights=WEIGHTS[0], k=1)["j"].matches[0]
    for m, other_id in ((as_candidate, "j"), (as_job, "c")):
        assert m.id == other_id
        assert m.shared_skills == ("Machine  Learning", "SQL", "Excel")
        assert m.missing_must_haves == ("payroll", "IFRS")
        assert m.skills == pytest.approx(3 / 4)  # 3 of the job's 4 skills
        assert m.seniority == 1.0 and m.dense == pytest.approx(1.0) and m.lexical == 0.0
        assert m.score == pytest.approx(0.4 + 0.2 * 3 / 4 + 0.1, abs=TOL)


@pytest.mark.parametrize("own_is_candidate", [True, False])
def test_coverage_gate_needs_three_distinct_skills_on_both_sides(
        own_is_candidate: bool) -> None:
    """Coverage counts only when BOTH sides have >= 3 distinct folded skills; the shared skills
    are still listed when it does not count."""
    job3 = person("job3", ["python", "SQL", "excel"])
    job2 = person("job2", ["python", "sql"])
    cands = Entities((
        person("c-two", ["Python", "sql"]),  # 2 skills, both the job's
        person("c-two-spelled-four-ways", ["python", "PYTHON", " sql", "Sql "]),
        person("c-three", ["python", "sql", "docker"]),  # exactly 3: counts
        person("c-five", ["python", "sql", "excel", "react", "haccp"]),
    ), 2).sorted()
    jobs = Entities((job2, job3), 2)
    want = {("c-two", "job3"): 0.0, ("c-two-spelled-four-ways", "job3"): 0.0,
            ("c-three", "job3"): 2 / 3, ("c-five", "job3"): 1.0,
            ("c-two", "job2"): 0.0, ("c-two-spelled-four-ways", "job2"): 0.0,
            ("c-three", "job2"): 0.0, ("c-five", "job2"): 0.0}
    w = Weights(0.0, 0.0, 1.0, 0.0)  # the score is the coverage alone
    if own_is_candidate:
        got = full_lists(cands.side(), jobs.side(), own_is_candidate=True, weights=w, k=2)
        pairs = {(c, m.id): m for c, lst in got.items() for m in lst.matches}
    else:
        got = full_lists(jobs.side(), cands.side(), own_is_candidate=False, weights=w, k=4)
        pairs = {(m.id, j): m for j, lst in got.items() for m in lst.matches}
    assert set(pairs) == set(want)
    for key, coverage in want.items():
        assert pairs[key].skills == pytest.approx(coverage, abs=1e-7), key
        assert pairs[key].score == pytest.approx(coverage, abs=1e-7), key
    assert pairs[("c-two", "job3")].shared_skills == ("python", "SQL")
    assert pairs[("c-two-spelled-four-ways", "job2")].shared_skills == ("python", "sql")
    assert_lists(got, oracle(cands if own_is_candidate else jobs,
                             jobs if own_is_candidate else cands,
                             own_is_candidate=own_is_candidate, weights=w),
                 4, exact=True)


def test_job_side_lists_divide_by_the_jobs_skills() -> None:
    """Coverage is not symmetric: it is the share of the JOB's skills, whichever side owns the
    list. A job's list ranks candidates; a candidate's list ranks jobs."""
    w = Weights(0.0, 0.0, 1.0, 0.0)
    job = person("job", ["a1", "a2", "a3", "a4"], must=["a4", "a5"])
    cands = Entities((person("c-three", ["a1", "a2", "a3"]),
                      person("c-six", ["a1", "a2", "a3", "a4", "a5", "a6"])), 2)
    job_list = full_lists(Entities((job,), 2).side(), cands.side(), own_is_candidate=False,
                          weights=w, k=2)["job"]
    assert job_list.ids == ("c-six", "c-three")
    assert job_list.scores == pytest.approx([1.0, 3 / 4])
    assert [m.missing_must_haves for m in job_list.matches] == [(), ("a4", "a5")]

    cand = person("cand", ["a1", "a2", "a3"], must=["a9"])
    jobs = Entities((person("j-four", ["a1", "a2", "a3", "a4"], must=["a1"]),
                     person("j-six", ["a1", "a2", "a3", "x", "y", "z"], must=["z"])), 2)
    cand_list = full_lists(Entities((cand,), 2).side(), jobs.side(), own_is_candidate=True,
                           weights=w, k=2)["cand"]
    assert cand_list.ids == ("j-four", "j-six")
    assert cand_list.scores == pytest.approx([3 / 4, 1 / 2])
    assert [m.missing_must_haves for m in cand_list.matches] == [(), ("z",)]


# ---------------------------------------------------------------- incremental, seeded

@pytest.mark.parametrize("weights", WEIGHTS[:2], ids=W_IDS[:2])
@pytest.mark.parametrize("own_is_candidate", [True, False])
@pytest.mark.parametrize("seed", [11, 12, 13])
def test_update_lists_equal_the_oracle_over_the_new_side(own_is_candidate: bool,
                                                         seed: int, weights: Weights) -> None:
    """New, re-embedded, re-worded, re-skilled, re-levelled, sharply dropped and deleted
    entities, the drops and deletions aimed at the entities in the most lists."""
    rng = np.random.default_rng(seed)
    k = 10
    own, old_other = entities(rng, "o", 100, 384), entities(rng, "x", 80, 384)
    old = full_lists(own.side(), old_other.side(), own_is_candidate=own_is_candidate,
                     weights=weights, k=k)
    kinds = (["drop"] * 4 + ["delete"] * 2 + ["vector"] * 2 + ["lexical"] * 2
             + ["skills"] * 2 + ["level"] * 2 + ["new"] * 3)
    ch = change(rng, own, old_other, kinds, targets=popular(old, 6))
    out = check_update(own, ch, k, own_is_candidate=own_is_candidate, weights=weights,
                       old_lists=old)
    # Not vacuous: the scenario needs holes, and some keys that lost entries stay exact.
    assert out.needed_outside, "no key needed an outsider: the hole rule was not exercised"
    assert out.lost_but_exact, "every key that lost an entry became a hole"
    assert len(out.holes) < len(own.ids)


@pytest.mark.parametrize("own_is_candidate", [True, False])
def test_update_lists_over_several_chunks(own_is_candidate: bool,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matching, "CHUNK_ROWS", 5)
    rng = np.random.default_rng(14)
    own, old_other = entities(rng, "o", 23, 24), entities(rng, "x", 20, 24)
    old = full_lists(own.side(), old_other.side(), own_is_candidate=own_is_candidate,
                     weights=WEIGHTS[2], k=4)
    ch = change(rng, own, old_other, list(KINDS) * 2, targets=popular(old, 4))
    check_update(own, ch, 4, own_is_candidate=own_is_candidate, weights=WEIGHTS[2],
                 old_lists=old)


@pytest.mark.parametrize("own_is_candidate", [True, False])
def test_update_lists_only_new_entities_gives_no_hole(own_is_candidate: bool) -> None:
    rng = np.random.default_rng(21)
    own, old_other = entities(rng, "o", 60, 128), entities(rng, "x", 40, 128)
    ch = change(rng, own, old_other, ["new"] * 6)
    out = check_update(own, ch, 5, own_is_candidate=own_is_candidate, weights=WEIGHTS[0])
    assert out.holes == set()


@pytest.mark.parametrize("own_is_candidate", [True, False])
def test_update_lists_with_no_change_returns_the_old_lists(own_is_candidate: bool) -> None:
    rng = np.random.default_rng(22)
    own, other = entities(rng, "o", 40, 64), entities(rng, "x", 30, 64)
    old = full_lists(own.side(), other.side(), own_is_candidate=own_is_candidate,
                     weights=WEIGHTS[1], k=6)
    lists, holes = update_lists(own.side(), old, Entities((), 64).side(), [],
                                own_is_candidate=own_is_candidate, weights=WEIGHTS[1], k=6)
    assert holes == []
    assert lists == old


@pytest.mark.parametrize("own_is_candidate", [True, False])
def test_update_lists_k_larger_than_the_other_side(own_is_candidate: bool) -> None:
    """Old lists shorter than K hold the whole old side: always exact, never a hole."""
    rng = np.random.default_rng(23)
    own, old_other = entities(rng, "o", 30, 64), entities(rng, "x", 8, 64)
    ch = change(rng, own, old_other, ["new", "new", "delete", "drop", "vector", "lexical",
                                      "skills", "level"])
    out = check_update(own, ch, 50, own_is_candidate=own_is_candidate, weights=WEIGHTS[0])
    assert out.holes == set()


@pytest.mark.parametrize("own_is_candidate", [True, False])
def test_update_lists_deleted_entities_disappear(own_is_candidate: bool) -> None:
    """Changed ids with no entity any more: their entries go; those keys are exact or holes."""
    rng = np.random.default_rng(24)
    k = 5
    own, old_other = entities(rng, "o", 50, 64), entities(rng, "x", 30, 64)
    old = full_lists(own.side(), old_other.side(), own_is_candidate=own_is_candidate,
                     weights=WEIGHTS[0], k=k)
    gone = popular(old, 3)
    ch = change(rng, own, old_other, ["delete"] * 3, targets=gone)
    assert ch.changed.ids == [] and set(ch.changed_ids) == set(gone)
    out = check_update(own, ch, k, own_is_candidate=own_is_candidate, weights=WEIGHTS[0],
                       old_lists=old)
    lists, _ = update_lists(own.side(), old, ch.changed.side(), ch.changed_ids,
                            own_is_candidate=own_is_candidate, weights=WEIGHTS[0], k=k)
    assert all(set(lst.ids).isdisjoint(gone) for lst in lists.values())
    assert out.holes  # a full list that lost an entry and gained nothing cannot be proven


@pytest.mark.parametrize("own_is_candidate", [True, False])
@pytest.mark.parametrize("k", [3, 20])
def test_update_lists_the_whole_other_side_deleted(own_is_candidate: bool, k: int) -> None:
    rng = np.random.default_rng(25)
    own, old_other = entities(rng, "o", 10, 32), entities(rng, "x", 6, 32)
    ch = change(rng, own, old_other, ["delete"] * 6)
    assert ch.new_other.ids == []
    out = check_update(own, ch, k, own_is_candidate=own_is_candidate, weights=WEIGHTS[1])
    # Full lists (k=3) cannot prove that nothing is left outside; short ones (k=20) can.
    assert out.holes == (set(own.ids) if k <= 6 else set())


# ---------------------------------------------------------------- incremental, property

weight = st.one_of(st.just(0.0), st.floats(0.01, 1.0))


@settings(max_examples=60, deadline=None)
@given(n_own=st.integers(1, 25), n_other=st.integers(0, 30), d=st.sampled_from([3, 16, 48]),
       k=st.integers(1, 12), kinds=st.lists(st.sampled_from(KINDS), max_size=12),
       aim=st.booleans(), own_is_candidate=st.booleans(),
       w=st.tuples(weight, weight, weight, weight), seed=st.integers(0, 2**32 - 1))
def test_update_lists_property(n_own: int, n_other: int, d: int, k: int, kinds: list[str],
                               aim: bool, own_is_candidate: bool,
                               w: tuple[float, float, float, float], seed: int) -> None:
    weights = Weights(*w)
    rng = np.random.default_rng(seed)
    own, old_other = entities(rng, "o", n_own, d), entities(rng, "x", n_other, d)
    old = full_lists(own.side(), old_other.side(), own_is_candidate=own_is_candidate,
                     weights=weights, k=k)
    assert_lists(old, oracle(own, old_other, own_is_candidate=own_is_candidate,
                             weights=weights), k)
    ch = change(rng, own, old_other, kinds, targets=popular(old, len(kinds)) if aim else None)
    check_update(own, ch, k, own_is_candidate=own_is_candidate, weights=weights,
                 old_lists=old)


# ---------------------------------------------------------------- ties (exact arithmetic)
# Dyadic weights; dense vectors are basis vectors (cosines exactly 0 or ±1); the lexical
# vectors have one term of weight 1 (dots 0 or 1); skill lists are the same 3 skills or none
# (coverage 0 or 1); levels are the same or 4 apart (fit 1 or 0). Every score is a sum of
# dyadic numbers, exact in float32 and float64 alike: ties are real ties.

W_EXACT = Weights(0.5, 0.25, 0.125, 0.125)
E0, E1 = (1.0, 0.0), (0.0, 1.0)
MINUS_E0 = (-1.0, 0.0)
S3 = ("python", "sql", "excel")
LEX = {7: 1.0}


def exact(rows: Sequence[tuple[str, str]]) -> Entities:
    """Entities of the given profiles (see PROFILES), scored against OWN."""
    return Entities(tuple(PROFILES[kind](oid) for oid, kind in rows), 2)


# The own entity: E0, lexical term 7, skills S3, level "mid" (as a candidate or as a job:
# coverage is 1 either way between two entities listing exactly S3).
OWN = Entities((person("me", S3, "mid", must=["python"], vector=E0, terms=LEX),), 2)
PROFILES = {
    "high": lambda oid: person(oid, (), "executive", vector=E0),  # 0.5
    "mid": lambda oid: person(oid, S3, "mid", vector=E1),  # 0.125 + 0.125 = 0.25
    "lex": lambda oid: person(oid, (), "executive", vector=E1, terms=LEX),  # 0.25
    "zero": lambda oid: person(oid, (), "executive", vector=E1),  # 0
    "low": lambda oid: person(oid, (), "executive", vector=MINUS_E0),  # -0.5
}


@pytest.mark.parametrize("own_is_candidate", [True, False])
def test_exact_profiles_score_what_they_say(own_is_candidate: bool) -> None:
    """The tie tests' premises, from the oracle: the scores are the exact dyadic values."""
    other = exact([(kind, kind) for kind in PROFILES]).sorted()
    got = {r.id: r.score for r in oracle(OWN, other, own_is_candidate=own_is_candidate,
                                         weights=W_EXACT)["me"]}
    assert got == {"high": 0.5, "mid": 0.25, "lex": 0.25, "zero": 0.0, "low": -0.5}


@pytest.mark.parametrize("own_is_candidate", [True, False])
def test_full_lists_ties_inside_the_list_in_code_point_order(own_is_candidate: bool) -> None:
    ids = ["a", "B", "é", "z", "m"]  # code point order: B < a < m < z < é
    # Tied through different features: lexical alone for some, skills + level for others.
    other = exact([("top", "high")] + [(i, "lex" if n % 2 else "mid")
                                       for n, i in enumerate(ids)]).sorted()
    got = full_lists(OWN.side(), other.side(), own_is_candidate=own_is_candidate,
                     weights=W_EXACT, k=6)
    assert got["me"].ids == ("top", "B", "a", "m", "z", "é")
    assert got["me"].scores == (0.5, 0.25, 0.25, 0.25, 0.25, 0.25)
    assert_lists(got, oracle(OWN, other, own_is_candidate=own_is_candidate, weights=W_EXACT),
                 6, exact=True)


@pytest.mark.parametrize("own_is_candidate", [True, False])
def test_full_lists_duplicates_at_the_boundary_broken_by_id(own_is_candidate: bool) -> None:
    """300 identically scored entities (two profiles) and K=3: the three lowest ids."""
    other = exact([("0-far", "low")] + [(f"dup{i:03d}", "lex" if i % 3 else "mid")
                                        for i in range(300)])
    got = full_lists(OWN.side(), other.side(), own_is_candidate=own_is_candidate,
                     weights=W_EXACT, k=3)
    assert got["me"].ids == ("dup000", "dup001", "dup002")
    assert_lists(got, oracle(OWN, other, own_is_candidate=own_is_candidate, weights=W_EXACT),
                 3, exact=True)


@pytest.mark.parametrize("own_is_candidate", [True, False])
def test_update_lists_ties_with_changed_entities_broken_by_id(own_is_candidate: bool) -> None:
    """Old list [b, d] (f tied with d, outside). New c ties with d and has a lower id: it
    enters; new e ties too but sorts after d: it does not; new a falls far below."""
    old_other = exact([("b", "high"), ("d", "mid"), ("f", "lex"), ("h", "zero")])
    new_other = exact([("a", "low"), ("b", "high"), ("c", "lex"), ("d", "mid"),
                       ("e", "mid"), ("f", "lex"), ("h", "zero")])
    ch = Change(old_other, new_other, new_other.subset(["e", "a", "c"]), ["e", "a", "c"])
    old = oracle_lists(OWN, old_other, own_is_candidate=own_is_candidate, weights=W_EXACT,
                       k=2)
    assert old["me"].ids == ("b", "d")
    out = check_update(OWN, ch, 2, own_is_candidate=own_is_candidate, weights=W_EXACT,
                       old_lists=old, exact=True)
    assert out.holes == set()
    lists, _ = update_lists(OWN.side(), old, ch.changed.side(), ch.changed_ids,
                            own_is_candidate=own_is_candidate, weights=W_EXACT, k=2)
    assert lists["me"].ids == ("b", "c")


@pytest.mark.parametrize("own_is_candidate", [True, False])
def test_update_lists_tie_with_an_outsider_is_a_hole(own_is_candidate: bool) -> None:
    """Old list [a, b] with c outside, tied with b. a drops and a new z ties with b: merging
    gives [b, z], but the right answer is [b, c] (c < z) and c is outside old list ∪ changed:
    the K-th score did not rise above the old K-th, so the key must be a hole."""
    old_other = exact([("a", "high"), ("b", "mid"), ("c", "lex")])
    new_other = exact([("a", "low"), ("b", "mid"), ("c", "lex"), ("z", "mid")])
    ch = Change(old_other, new_other, new_other.subset(["z", "a"]), ["a", "z"])
    old = oracle_lists(OWN, old_other, own_is_candidate=own_is_candidate, weights=W_EXACT,
                       k=2)
    assert old["me"].ids == ("a", "b")
    assert [r.id for r in oracle(OWN, new_other, own_is_candidate=own_is_candidate,
                                 weights=W_EXACT)["me"][:2]] == ["b", "c"]
    out = check_update(OWN, ch, 2, own_is_candidate=own_is_candidate, weights=W_EXACT,
                       old_lists=old, exact=True)
    assert out.needed_outside == out.holes == {"me"}


# ---------------------------------------------------------------- what the pipeline stored
#
# The lists above are checked on data made here. Below, the real pipeline (rules normalizer,
# MiniLM embeddings, lexical vectors, fitted weights, the engine's full and incremental match
# steps) runs on shipped CVs and postings, and what it STORED in candidate_matches and
# job_matches is compared with the oracle computed from what it stored as inputs, read with
# plain SQL: the dense vectors (pgvector's text form), the lexical term ids and weights, the
# normalized skills, must-haves and seniority, and the weights in data/match_weights.json.

DATA = Path(__file__).resolve().parents[2] / "data"
K = 10  # the pipeline's top-K (README: "the exact top-10")


@dataclass(frozen=True)
class StoredEntity:
    """One entity as the database holds it, in plain Python: the oracle's only input."""

    id: str
    vector: np.ndarray  # float64
    terms: Mapping[int, float]
    skills: tuple[str, ...]
    must_haves: tuple[str, ...]
    level: str


def read_side(conn, kind: str) -> dict[str, StoredEntity]:
    """Every embedded entity of one side, read with plain SQL."""
    table = "candidates" if kind == "candidate" else "jobs"
    rows = conn.execute(
        f"SELECT v.{kind}_id, v.embedding::text, v.lexical_terms, v.lexical_weights, "
        f"n.skills, n.must_have_skills, n.seniority FROM {kind}_vectors v "
        f"JOIN normalized_{table} n ON n.{kind}_id = v.{kind}_id").fetchall()
    return {r[0]: StoredEntity(r[0], np.asarray(json.loads(r[1]), dtype=np.float64),
                               dict(zip(r[2], r[3], strict=True)), tuple(r[4]), tuple(r[5]),
                               r[6]) for r in rows}


def read_lists(conn, kind: str) -> dict[str, tuple[list[str], list[float], list[dict]]]:
    other = "job" if kind == "candidate" else "candidate"
    return {r[0]: (list(r[1]), list(r[2]), list(r[3])) for r in conn.execute(
        f"SELECT {kind}_id, {other}_ids, scores, explanations FROM {kind}_matches")}


def stored_weights() -> dict[str, float]:
    return json.loads((DATA / "match_weights.json").read_text())["weights"]


def stored_oracle(own: Mapping[str, StoredEntity], other: Mapping[str, StoredEntity], *,
                  own_is_candidate: bool, w: Mapping[str, float]) -> dict[str, list[Scored]]:
    """Each own entity's ranking of the whole other side, from the definition, float64."""
    out: dict[str, list[Scored]] = {}
    for x in own.values():
        ranking = []
        for y in other.values():
            cand, job = (x, y) if own_is_candidate else (y, x)
            dense = float(cand.vector @ job.vector
                          / (np.linalg.norm(cand.vector) * np.linalg.norm(job.vector)))
            cn = sum(v * v for v in cand.terms.values()) ** 0.5
            jn = sum(v * v for v in job.terms.values()) ** 0.5
            lexical = (sum(v * job.terms.get(t, 0.0) for t, v in cand.terms.items()) / (cn * jn)
                       if cn and jn else 0.0)
            have, want = {fold(s) for s in cand.skills}, {fold(s) for s in job.skills}
            skills = len(have & want) / len(want) if min(len(have), len(want)) >= GATE else 0.0
            fit = max(0.0, 1 - abs(LEVELS.index(cand.level) - LEVELS.index(job.level)) / 3)
            score = (w["dense"] * dense + w["lexical"] * lexical + w["skills"] * skills
                     + w["seniority"] * fit)
            ranking.append(Scored(y.id, score, dense, lexical, skills, fit,
                                  tuple(s for s in job.skills if fold(s) in have),
                                  tuple(s for s in job.must_haves if fold(s) not in have)))
        ranking.sort(key=lambda r: (-r.score, r.id))
        out[x.id] = ranking
    return out


def assert_stored_lists(stored: Mapping[str, tuple[list[str], list[float], list[dict]]],
                        want: Mapping[str, list[Scored]], what: str) -> None:
    """Every stored list is the oracle's top-K: ids (up to float32 near-ties), the scores
    column, and each explanation's features, shared skills and missing must-haves."""
    assert set(stored) == set(want), (what, sorted(set(stored) ^ set(want)))
    for key, (ids, scores, explained) in stored.items():
        ranking = want[key]
        n = min(K, len(ranking))
        assert len(ids) == len(scores) == len(explained) == n, (what, key, len(ids), n)
        truth = {r.id: r for r in ranking}
        for pos, (oid, score, why) in enumerate(zip(ids, scores, explained, strict=True)):
            r = truth[oid]
            assert why["id"] == oid, (what, key, pos)
            assert abs(score - r.score) <= TOL, (what, key, oid, score, r.score)
            assert abs(score - ranking[pos].score) <= TOL, (
                f"{what} {key}: position {pos} holds {oid} ({score:.6f}), the oracle's entry "
                f"there is {ranking[pos].id} ({ranking[pos].score:.6f})")
            for name in ("score", "dense", "lexical", "skills", "seniority"):
                assert abs(why[name] - getattr(r, name)) <= TOL, (what, key, oid, name)
            assert tuple(why["shared_skills"]) == r.shared, (what, key, oid)
            assert tuple(why["missing_must_haves"]) == r.missing, (what, key, oid)
        # The ids: the oracle's order, except within runs of scores closer than TOL.
        block, blocks, start = 0, [], 0
        block_of = {}
        for i, r in enumerate(ranking):
            if i and ranking[i - 1].score - r.score > TOL:
                blocks.append({x.id for x in ranking[start:i]})
                block, start = block + 1, i
            block_of[i] = block
        blocks.append({x.id for x in ranking[start:]})
        for pos, oid in enumerate(ids):
            assert oid in blocks[block_of[pos]], (what, key, pos, ids,
                                                  [r.id for r in ranking[:n]])


def _shipped(name: str, n: int, offset: int = 0) -> list[dict]:
    lines = (DATA / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines[offset:offset + n]]


def _check_everything(conn) -> dict[str, dict[str, list[Scored]]]:
    cands, jobs = read_side(conn, "candidate"), read_side(conn, "job")
    w = stored_weights()
    want = {"candidate": stored_oracle(cands, jobs, own_is_candidate=True, w=w),
            "job": stored_oracle(jobs, cands, own_is_candidate=False, w=w)}
    for kind in ("candidate", "job"):
        assert_stored_lists(read_lists(conn, kind), want[kind], kind)
    return want


def test_the_stored_match_lists_are_the_brute_force_top_k(db: str) -> None:
    import psycopg

    from flows.batch import talent_batch

    cvs, jobs = _shipped("candidates", 36), _shipped("jobs", 30)
    extra_jobs = _shipped("jobs", 2, offset=100)
    with psycopg.connect(db, autocommit=True) as conn:
        for r in cvs:
            conn.execute("INSERT INTO candidates (id, name, location, cv_text) "
                         "VALUES (%s, %s, %s, %s)", [r["id"], r["name"], r.get("location"),
                                                     r["cv_text"]])
        for r in jobs:
            conn.execute("INSERT INTO jobs (id, title, company, location, description) "
                         "VALUES (%s, %s, %s, %s, %s)",
                         [r["id"], r["title"], r.get("company"), r.get("location"),
                          r["description"]])
    first = talent_batch()
    assert first["ok"], first
    assert len(first["assets"]["candidate_matches"]["ran"]) == len(cvs)
    assert len(first["assets"]["job_matches"]["ran"]) == len(jobs)
    with psycopg.connect(db, autocommit=True) as conn:
        want = _check_everything(conn)
        # Not vacuous: the stored lists use every feature and carry explanations.
        entries = [e for _, _, ex in read_lists(conn, "candidate").values() for e in ex]
        assert sum(e["lexical"] > 0.05 for e in entries) > len(entries) / 4
        assert any(e["skills"] > 0 for e in entries)
        assert len({round(e["seniority"], 4) for e in entries}) >= 3
        assert any(e["shared_skills"] for e in entries)
        assert any(e["missing_must_haves"] for e in entries)
        # Incremental: change the job side so that some lists gain an entry, some lose one
        # (a posting rewritten into another field), then add postings and edit a CV.
        top = {key: ranking[0].id for key, ranking in want["candidate"].items()}
        c0 = cvs[0]["id"]
        loser = top[c0]
        conn.execute("UPDATE jobs SET title = 'Night shift baker', description = "
                     "'Bake bread and pastries overnight in a small bakery; sourdough, "
                     "ovens, food hygiene.' WHERE id = %s", [loser])
        gainer = next(r["id"] for r in jobs if r["id"] != loser)
        conn.execute("UPDATE jobs SET description = %s WHERE id = %s",
                     [cvs[1]["cv_text"], gainer])
        conn.execute("UPDATE jobs SET description = description || ' Docker and Kubernetes.' "
                     "WHERE id = %s", [jobs[-1]["id"]])
        for r in extra_jobs:
            conn.execute("INSERT INTO jobs (id, title, company, location, description) "
                         "VALUES (%s, %s, %s, %s, %s)",
                         [r["id"], r["title"], r.get("company"), r.get("location"),
                          r["description"]])
        conn.execute("UPDATE candidates SET cv_text = cv_text || ' Also SQL and Excel.' "
                     "WHERE id = %s", [cvs[2]["id"]])
    second = talent_batch()
    assert second["ok"], second
    changed_jobs = {loser, gainer, jobs[-1]["id"], *(r["id"] for r in extra_jobs)}
    assert set(second["assets"]["job_vectors"]["ran"]) == changed_jobs
    assert set(second["assets"]["candidate_vectors"]["ran"]) == {cvs[2]["id"]}
    # Every candidate's list ranges over all jobs: each was brought up to date.
    assert len(second["assets"]["candidate_matches"]["ran"]) == len(cvs)
    with psycopg.connect(db, autocommit=True) as conn:
        after = _check_everything(conn)
        assert read_lists(conn, "candidate")[c0][0][0] != loser
        assert len(after["job"]) == len(jobs) + len(extra_jobs)
