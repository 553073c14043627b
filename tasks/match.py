"""match: each entity's exact top-K on the other side, updated from what changed.

`candidate_matches[c]` reads `candidate_vectors[c]` and ALL of `job_vectors`. A key stale
only because some jobs changed is updated from those jobs alone (talentflow/talent/
cross_join.py: one product against the changed columns); a key that is new, or whose own
vector or code changed, is computed against the whole other side, streamed from PostgreSQL in
chunks (`match_in_full`: memory stays bounded at a million entities on the other side). The
fusion weights (data/match_weights.json) are a resource: refitting them recomputes every list.
"""

from __future__ import annotations

import psycopg

from talentflow.engine import AllOfInput, BatchContext, Output
from talentflow.talent import matching, store
from talentflow.talent.cross_join import full_lists, update_lists
from talentflow.talent.entities import Entity, entity_of_set
from talentflow.talent.matching import Side, Weights
from talentflow.talent.value_stores import MatchList, MatchListStore

TOP_K = matching.DEFAULT_TOP_K


def match_in_full(conn: psycopg.Connection, ent: Entity, own: Side, *, weights: Weights,
                  k: int = TOP_K, chunk_rows: int = store.STREAM_ROWS
                  ) -> tuple[dict[str, MatchList], int]:
    """Each entity of `own` (side `ent`) against every entity of the other side, read with
    one binary COPY in chunks of `chunk_rows`; the winners' skill names are read afterwards.
    Returns (lists, entities on the other side)."""
    every = store.stream_side(conn, ent.other, chunk_rows=chunk_rows)
    lists = full_lists(own, every, own_is_candidate=ent.kind == "candidate", weights=weights,
                       k=k, skills_of=lambda ids: store.load_skills(conn, ent.other, ids))
    return lists, every.rows


def match_lists(ctx: BatchContext, own: dict[str, matching.Entity], other: AllOfInput,
                fusion: Weights) -> dict[str, Output]:
    ent = entity_of_set(ctx.partitions.name)
    is_candidate = ent.kind == "candidate"
    keys = [k for k in ctx.keys if k in own]
    side = Side.of(keys, [own[k] for k in keys])
    position = {k: i for i, k in enumerate(keys)}
    lists: dict[str, MatchList] = {}
    mode: dict[str, str] = {}
    full = set(other.full())
    for since, group in other.incremental().items():
        changes = other.changes(ctx.conn, since)
        if changes.removed:
            full.update(group)  # which keys left is not recorded: recompute those lists
            continue
        old = {k: s.value for k, s in
               MatchListStore(ent).read(ctx.conn, ctx.asset, group).items()}
        full.update(k for k in group if k not in old)
        group = [k for k in group if k in old]
        if not group:
            continue
        changed = store.load_side(ctx.conn, ent.other, changes.keys)
        merged, holes = update_lists(side.take([position[k] for k in group]), old, changed,
                                     changes.keys, own_is_candidate=is_candidate,
                                     weights=fusion, k=TOP_K)
        lists.update(merged)
        mode.update(dict.fromkeys(merged, f"incremental ({len(changes.keys)} changed)"))
        full.update(holes)
    if full:
        todo = [k for k in keys if k in full]
        found, n_other = match_in_full(ctx.conn, ent, side.take([position[k] for k in todo]),
                                       weights=fusion, k=TOP_K)
        lists.update(found)
        mode.update(dict.fromkeys(todo, f"full ({n_other} on the other side)"))
    ctx.log.info("%d list(s) in full, %d incremental", sum(m.startswith("full")
                                                           for m in mode.values()),
                 sum(m.startswith("incr") for m in mode.values()))
    return {k: Output(v, metadata={"top_k": TOP_K, "mode": mode[k]}) for k, v in lists.items()}
