"""Exact top-K lists of one side against the other: in full, or updated incrementally.

`candidate_matches[c]` is c's exact top-K over every job (and symmetrically for jobs). When
only the other side changed (an `AllOf` input), a list is updated from the changed columns
alone — one product of the keys against the m changed entities — and stays exact:

    old list L = exact top-K over the old other side; C = the changed entities (rescored)
    merged     = (L without C) ∪ C                        → take its top-K, T
    every other entity outside L scored ≤ L's K-th score (kth_old), unchanged since, so
    T is exact unless an entry of L was in C and T's K-th score is not above kth_old;
    those few keys (a "hole") are recomputed against the whole other side.

Ties are broken by the other entity's id in code point order, in both paths, so an
incremental update gives exactly the list a full recompute would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from talentflow.talent import matching
from talentflow.talent.matching import Side
from talentflow.talent.value_stores import MatchList


def _lists(keys: Sequence[str], ids: Sequence[Sequence[str]], scores: np.ndarray,
           cosines: np.ndarray, coverages: np.ndarray) -> dict[str, MatchList]:
    out = {}
    for i, key in enumerate(keys):
        n = len(ids[i])
        out[key] = MatchList(tuple(ids[i]), tuple(scores[i, :n].tolist()),
                             tuple(cosines[i, :n].tolist()), tuple(coverages[i, :n].tolist()))
    return out


def full_lists(own: Side, other: Side, *, own_is_candidate: bool,
               k: int = matching.DEFAULT_TOP_K) -> dict[str, MatchList]:
    """Each entity of `own` against the whole `other` side (id-ordered)."""
    best = matching.top_k(own, other, new_is_candidate=own_is_candidate, k=k)
    return _lists(list(own.ids), best.ids, best.scores, best.cosines, best.coverages)


def update_lists(own: Side, old: Mapping[str, MatchList], changed: Side,
                 changed_ids: Sequence[str], *, own_is_candidate: bool,
                 k: int = matching.DEFAULT_TOP_K) -> tuple[dict[str, MatchList], list[str]]:
    """Merge the rescored `changed` entities into `own`'s old lists.

    `changed_ids` are every other-side id whose data changed (some may have no vector any
    more: their old entries are dropped). Returns (exact new lists, keys with a hole).
    """
    keys = list(own.ids)
    n, m = len(keys), len(changed)
    gone = set(changed_ids)
    old_scores = np.full((n, k), -np.inf, dtype=np.float32)
    old_cos = np.zeros((n, k), dtype=np.float32)
    old_cov = np.zeros((n, k), dtype=np.float32)
    old_ids: list[list[str]] = []
    lost = np.zeros(n, dtype=bool)
    kth_old = np.full(n, -np.inf, dtype=np.float32)
    full_old = np.zeros(n, dtype=bool)
    for i, key in enumerate(keys):
        lst = old[key]
        kept = [j for j, oid in enumerate(lst.ids[:k]) if oid not in gone]
        lost[i] = len(kept) < min(len(lst.ids), k)
        full_old[i] = len(lst.ids) >= k
        if full_old[i]:
            kth_old[i] = lst.scores[k - 1]
        old_ids.append([lst.ids[j] for j in kept])
        for slot, j in enumerate(kept):
            old_scores[i, slot] = lst.scores[j]
            old_cos[i, slot] = lst.cosines[j]
            old_cov[i, slot] = lst.skill_overlaps[j]
    if m:
        s_new, c_new, v_new = matching.oriented_scores(own, changed, own_is_candidate)
    else:
        s_new = c_new = v_new = np.zeros((n, 0), dtype=np.float32)
    merged_s = np.hstack([old_scores, s_new])
    merged_c = np.hstack([old_cos, c_new])
    merged_v = np.hstack([old_cov, v_new])
    universe = sorted({i for row in old_ids for i in row} | set(changed.ids))
    rank = {oid: r for r, oid in enumerate(universe)}
    big = len(universe) + 1  # padding sorts last among equal (-inf) scores
    ranks = np.full((n, k + m), big, dtype=np.int64)
    for i, row in enumerate(old_ids):
        ranks[i, :len(row)] = [rank[o] for o in row]
    if m:
        ranks[:, k:] = np.asarray([rank[o] for o in changed.ids], dtype=np.int64)
    order = np.lexsort((ranks, -merged_s), axis=1)[:, :k]
    top_s = np.take_along_axis(merged_s, order, axis=1)
    top_c = np.take_along_axis(merged_c, order, axis=1)
    top_v = np.take_along_axis(merged_v, order, axis=1)
    top_r = np.take_along_axis(ranks, order, axis=1)
    kth_new = top_s[:, k - 1] if k else np.full(n, np.inf)
    hole = full_old & lost & ~(kth_new > kth_old)
    lists: dict[str, MatchList] = {}
    for i, key in enumerate(keys):
        if hole[i]:
            continue
        valid = int(np.isfinite(top_s[i]).sum())
        ids = [universe[r] for r in top_r[i, :valid].tolist()]
        lists[key] = MatchList(tuple(ids), tuple(top_s[i, :valid].tolist()),
                               tuple(top_c[i, :valid].tolist()),
                               tuple(top_v[i, :valid].tolist()))
    return lists, [key for i, key in enumerate(keys) if hole[i]]
