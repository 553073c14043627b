"""The matching subflow: each new or changed entity x every entity on the other side.

`candidate_matches[c]` depends on `candidate_vectors[c]` (identity) and on all of
`job_vectors` (a watermark), and symmetrically for jobs. Matching a side also merges its
entities into the other side's top-K lists (talentflow/talent/cross_join.py), so afterwards
the other side's partitions that were stale *only* because of this side's vectors are
recorded fresh in bulk, without recomputing them.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.pipeline import StepReport, flow_run_id, plan_step, record, run_batch
from talentflow.db import connect
from talentflow.partitions import Record, counts, current_inputs, record_many, status
from talentflow.talent import matching as matching_maths
from talentflow.talent import store
from talentflow.talent.entities import CANDIDATE, JOB, Entity
from tasks import assets
from tasks.match import match_batch


@flow(name="matching", flow_run_name="matching")
def matching(candidate_ids: list[str] | None = None, job_ids: list[str] | None = None,
             plan_first: bool = False,
             top_k: int = matching_maths.DEFAULT_TOP_K) -> dict[str, Any]:
    """Cross-join the given keys of each side against the whole other side (exact top-K).

    One subflow run for both sides: a flow run costs ~1 s here, a task run ~15 ms.
    """
    return {
        ent.kind: match_side(ent, keys, plan_first=plan_first, top_k=top_k)
        for ent, keys in ((CANDIDATE, candidate_ids), (JOB, job_ids)) if keys is not None
    }


def match_side(ent: Entity, keys: list[str], *, plan_first: bool, top_k: int
               ) -> dict[str, Any]:
    """One side's keys against the whole other side; then absorb into the other side."""
    asset = assets.get(ent.matches_asset)
    with connect() as conn:
        embedded = store.vector_versions(conn, ent, keys)
    keys = [k for k in keys if k in embedded]  # without a vector there is nothing to match
    work = plan_step(asset.name, keys, plan_first=plan_first)
    report = StepReport(up_to_date=work.up_to_date)
    pairs_written = 0
    if work.keys:
        state, started_at = run_batch(match_batch, asset.name, asset.code_version, work,
                                      work.keys, report, kind=ent.kind, top_k=top_k)
        if state is None:  # failed: recorded per key; the other side learns nothing new
            return {**report.__dict__, "pairs_written": 0, "other_side_absorbed": 0}
        pairs_written = state.result()["pairs_written"]
        (report.cached if state.name == "Cached" else report.ran).extend(work.keys)
        with connect() as conn:
            versions = store.top_k_versions(conn, ent, work.keys, top_k)
        meta = {"top_k": top_k, "pairs_written": pairs_written}
        record(asset.name, work, started_at,
               succeeded={k: (versions.get(k, "empty"), meta) for k in work.keys}, failed={})
    return {**report.__dict__, "pairs_written": pairs_written,
            "other_side_absorbed": absorb_into_other_side(ent, top_k)}


def absorb_into_other_side(ent: Entity, top_k: int) -> int:
    """Record the other side's matches fresh where this side's vectors were their only reason
    to be stale: the reverse merge already put every new pair into their lists.

    Only once every vector of this side has been cross-joined (this side's matches asset has
    nothing missing, stale or running); otherwise a list may still miss a change.
    """
    mine, other = assets.get(ent.matches_asset), assets.get(ent.other.matches_asset)
    via = f"upstream {ent.vectors_asset}: "  # how status words an all-of-upstream change
    with connect() as conn:
        pending = counts(conn, mine)
        if pending["missing"] or pending["stale"] or pending["running"]:
            return 0
        eligible = [s.key for s in status(conn, other)
                    if s.status == "stale" and s.reasons
                    and all(r.startswith(via) for r in s.reasons)]
        if not eligible:
            return 0
        inputs = current_inputs(conn, other, eligible)
        versions = store.top_k_versions(conn, ent.other, eligible, top_k)
        run_id = flow_run_id()
        record_many(conn, other, [
            Record(k, versions.get(k, "empty"), inputs=inputs[k], flow_run_id=run_id,
                   metadata={"top_k": top_k, "absorbed_from": mine.name})
            for k in eligible
        ])
    return len(eligible)
