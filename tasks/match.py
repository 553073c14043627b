"""match: each entity's exact top-K on the other side, updated from what changed.

`candidate_matches[c]` reads `candidate_vectors[c]` and ALL of `job_vectors`. A key stale
only because some jobs changed is updated from those jobs alone (talentflow/talent/
cross_join.py: one product against the changed columns); a key that is new, or whose own
vector or code changed, is computed against the whole other side. The fusion weights
(data/match_weights.json) are a resource: refitting them recomputes every list.
"""

from __future__ import annotations

from talentflow.engine import AllOfInput, BatchContext, Output
from talentflow.talent import matching, store
from talentflow.talent.cross_join import full_lists, update_lists
from talentflow.talent.entities import entity_of_set
from talentflow.talent.matching import Side, Weights
from talentflow.talent.value_stores import MatchList, MatchListStore

TOP_K = matching.DEFAULT_TOP_K


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
        every = store.load_side(ctx.conn, ent.other)
        lists.update(full_lists(side.take([position[k] for k in todo]), every,
                                own_is_candidate=is_candidate, weights=fusion, k=TOP_K))
        mode.update(dict.fromkeys(todo, f"full ({len(every)} on the other side)"))
    ctx.log.info("%d list(s) in full, %d incremental", sum(m.startswith("full")
                                                           for m in mode.values()),
                 sum(m.startswith("incr") for m in mode.values()))
    return {k: Output(v, metadata={"top_k": TOP_K, "mode": mode[k]}) for k, v in lists.items()}
