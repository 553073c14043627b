"""Incremental, exact cross-join: new or changed entities of one side against the other side.

Invariant kept in `matches`: for every entity, every pair of its true top-K is stored (more
pairs may be stored). Then a top-K query over `matches` is exact.

- New entities: score them against the whole other side in one matrix product; store their
  top-K (forward) and every pair that beats the other entity's current K-th best (reverse),
  which keeps the other side's lists exact without recomputing them.
- Changed entities: their old pairs are deleted first. An other-side entity whose top-K held
  one of them has a hole only a full recompute can fill, so those few are recomputed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg

from talentflow.talent import matching, store
from talentflow.talent.entities import Entity


@dataclass
class CrossJoinResult:
    matched: list[str]  # ids of `ent` whose top-K was computed
    other_touched: set[str] = field(default_factory=set)  # other-side ids whose list changed
    pairs_written: int = 0


def cross_join(conn: psycopg.Connection, ent: Entity, ids: Sequence[str],
               k: int = matching.DEFAULT_TOP_K) -> CrossJoinResult:
    ids = sorted(set(ids))
    is_candidate = ent.kind == "candidate"
    holes = store.remove_pairs(conn, ent, ids, k)
    new_side = store.load_side(conn, ent, ids)
    other_side = store.load_side(conn, ent.other)
    thresholds = store.kth_best_scores(conn, ent.other, other_side.ids, k)
    forward, reverse = matching.best_per_row(
        new_side, other_side, new_is_candidate=is_candidate, k=k, thresholds=thresholds
    )
    written = store.upsert_pairs(conn, forward + reverse)
    if holes:
        hole_side = store.load_side(conn, ent.other, sorted(holes))
        this_side = store.load_side(conn, ent)
        refill, _ = matching.best_per_row(
            hole_side, this_side, new_is_candidate=not is_candidate, k=k
        )
        written += store.upsert_pairs(conn, refill)
    other_col = "job_id" if is_candidate else "candidate_id"
    touched = {getattr(p, other_col) for p in reverse} | holes
    return CrossJoinResult(matched=list(new_side.ids), other_touched=touched,
                           pairs_written=written)
