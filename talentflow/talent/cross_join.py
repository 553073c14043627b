"""Exact top-K lists of one side against the other: in full, or updated incrementally.

`candidate_matches[c]` is c's exact top-K over every job (and symmetrically for jobs). When
only the other side changed (an `AllOf` input), a list is updated from the changed columns
alone — one product of the keys against the m changed entities — and stays exact, because a
pair's score depends on the two entities alone (matching.py):

    old list L = exact top-K over the old other side; C = the changed entities (rescored)
    merged     = (L without C) ∪ C                        → take its top-K, T
    every other entity outside L scored ≤ L's K-th score (kth_old), unchanged since, so
    T is exact unless an entry of L was in C and T's K-th score is not above kth_old;
    those few keys (a "hole") are recomputed against the whole other side.

Ties are broken by the other entity's id in code point order, in both paths, so an
incremental update gives exactly the list a full recompute would. Every entry carries its
explanation (features, shared skills, missing must-haves), computed once when it enters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from talentflow.talent import matching
from talentflow.talent.matching import Side, Weights, fold_skill
from talentflow.talent.value_stores import Match, MatchList

SkillNames = tuple[tuple[str, ...], tuple[str, ...]]  # an entity's (skills, must-haves)


def _entry(own: matching.Entity, own_folded: frozenset[str], own_is_candidate: bool,
           other_id: str, score: float, feats: Sequence[float], other: SkillNames) -> Match:
    """One Match: the pair's score and features, the job's skills the candidate has, the
    job's must-haves the candidate lacks (`own_folded`: own's skills, folded)."""
    if own_is_candidate:
        have, (job_skills, job_must) = own_folded, other
    else:
        have = {fold_skill(s) for s in other[0]}
        job_skills, job_must = own.skills, own.must_have_skills
    return Match(other_id, float(score), *(float(x) for x in feats),
                 shared_skills=tuple(s for s in job_skills if fold_skill(s) in have),
                 missing_must_haves=tuple(s for s in job_must if fold_skill(s) not in have))


def _folded(entity: matching.Entity) -> frozenset[str]:
    return frozenset(fold_skill(s) for s in entity.skills)


def explain(own: Side, other: Side, own_is_candidate: bool, rows: Sequence[int],
            cols: Sequence[int], scores: Sequence[float]) -> list[Match]:
    """The Match entries of pairs (own[rows[p]], other[cols[p]])."""
    feats = matching.oriented_features(own, other, own_is_candidate, np.asarray(rows),
                                       np.asarray(cols))
    return [_entry(own.entities[r], _folded(own.entities[r]), own_is_candidate, other.ids[c],
                   scores[p], feats[p],
                   (other.entities[c].skills, other.entities[c].must_have_skills))
            for p, (r, c) in enumerate(zip(rows, cols, strict=True))]


def full_lists(own: Side, other: Side | Iterable[Side], *, own_is_candidate: bool,
               weights: Weights, k: int = matching.DEFAULT_TOP_K,
               skills_of: Callable[[Sequence[str]], Mapping[str, SkillNames]] | None = None
               ) -> dict[str, MatchList]:
    """Each entity of `own` against the whole `other` side: a Side, or its chunks as
    store.stream_side reads them. Entries are explained once the top-K is known; the other
    entities' skill names come from the chunks that carry entities, else from `skills_of`
    (called once, with the ids of the entries alone)."""
    ranked = matching.rank(own, other, new_is_candidate=own_is_candidate, weights=weights,
                           k=k)
    held = np.isfinite(ranked.scores).sum(axis=1).tolist()  # entries fill the first slots
    ids, names = ranked.ids, ranked.names
    unnamed = sorted({ids[i, s] for i, n in enumerate(held) for s in range(n)
                      if names[i, s] is None})
    if unnamed and skills_of is None:
        raise ValueError("the other side came without entities: pass skills_of")
    loaded = skills_of(unnamed) if unnamed else {}
    scores, feats = ranked.scores.tolist(), ranked.features.tolist()
    out = {}
    for i, key in enumerate(own.ids):
        mine = own.entities[i]
        folded = _folded(mine)
        out[key] = MatchList(tuple(
            _entry(mine, folded, own_is_candidate, ids[i, s], scores[i][s], feats[i][s],
                   names[i, s] if names[i, s] is not None
                   # Deleted since it was read: no names (its list is stale already).
                   else loaded.get(ids[i, s], ((), ())))
            for s in range(held[i])))
    return out


def update_lists(own: Side, old: Mapping[str, MatchList], changed: Side,
                 changed_ids: Sequence[str], *, own_is_candidate: bool, weights: Weights,
                 k: int = matching.DEFAULT_TOP_K) -> tuple[dict[str, MatchList], list[str]]:
    """Merge the rescored `changed` entities into `own`'s old lists.

    `changed_ids` are every other-side id whose data changed (some may have no vector any
    more: their old entries are dropped). Returns (exact new lists, keys with a hole).
    """
    keys = list(own.ids)
    n, m = len(keys), len(changed)
    gone = set(changed_ids)
    old_scores = np.full((n, k), -np.inf, dtype=np.float32)
    kept: list[list[Match]] = []
    lost = np.zeros(n, dtype=bool)
    kth_old = np.full(n, -np.inf, dtype=np.float32)
    full_old = np.zeros(n, dtype=bool)
    for i, key in enumerate(keys):
        entries = old[key].matches[:k]
        row = [e for e in entries if e.id not in gone]
        lost[i] = len(row) < len(entries)
        full_old[i] = len(old[key]) >= k
        if full_old[i]:
            kth_old[i] = entries[k - 1].score
        kept.append(row)
        old_scores[i, :len(row)] = [e.score for e in row]
    s_new = (matching.oriented_scores(own, changed, own_is_candidate, weights) if m
             else np.zeros((n, 0), dtype=np.float32))
    merged = np.hstack([old_scores, s_new])
    universe = sorted({e.id for row in kept for e in row} | set(changed.ids))
    rank = {oid: r for r, oid in enumerate(universe)}
    big = len(universe) + 1  # padding sorts last among equal (-inf) scores
    ranks = np.full((n, k + m), big, dtype=np.int64)
    for i, row in enumerate(kept):
        ranks[i, :len(row)] = [rank[e.id] for e in row]
    if m:
        ranks[:, k:] = np.asarray([rank[o] for o in changed.ids], dtype=np.int64)
    order = np.lexsort((ranks, -merged), axis=1)[:, :k]
    top_s = np.take_along_axis(merged, order, axis=1)
    kth_new = top_s[:, k - 1] if k else np.full(n, np.inf)
    hole = full_old & lost & ~(kth_new > kth_old)
    # The entries that come from the changed side are explained in one batch.
    new_pairs = [(i, int(slot) - k) for i in range(n) if not hole[i]
                 for slot in order[i][np.isfinite(top_s[i])] if slot >= k]
    explained = explain(own, changed, own_is_candidate, [i for i, _ in new_pairs],
                        [c for _, c in new_pairs],
                        [float(s_new[i, c]) for i, c in new_pairs])
    fresh = dict(zip(new_pairs, explained, strict=True))
    lists: dict[str, MatchList] = {}
    for i, key in enumerate(keys):
        if hole[i]:
            continue
        slots = order[i][np.isfinite(top_s[i])].tolist()
        lists[key] = MatchList(tuple(kept[i][s] if s < k else fresh[(i, s - k)]
                                     for s in slots))
    return lists, [key for i, key in enumerate(keys) if hole[i]]
