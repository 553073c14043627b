"""talent_batch: many partitions in one flow run (the demo, sensor bursts).

Prefect costs ~1 s per flow run and ~15 ms per task run here, so many keys never mean one
flow run per key: the engine plans from the bulk status, runs missing, stale and failed keys
in batches, and brings the other side's match lists up to date incrementally.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from talentflow.engine import load_definitions, run_in_flow
from talentflow.talent.entities import CANDIDATE, JOB


@flow(name="talent-batch", flow_run_name="talent-batch")
def talent_batch(candidate_ids: list[str] | None = None,
                 job_ids: list[str] | None = None) -> dict[str, Any]:
    """Bring the given keys of each side up to date (both None: every partition).

    Each key succeeds or fails alone; failures are recorded per partition and reported.
    """
    defs = load_definitions()
    if candidate_ids is None and job_ids is None:
        return run_in_flow(defs).to_dict()
    runs = []
    for ids, ent in ((candidate_ids, CANDIDATE), (job_ids, JOB)):
        if ids:
            assets = [ent.source_asset, ent.normalized_asset, ent.vectors_asset,
                      ent.matches_asset, ent.other.matches_asset]
            runs.append(run_in_flow(defs, assets, partition_keys=ids,
                                    partition_set=ent.table).to_dict())
    merged: dict[str, Any] = {"flow_run_id": runs[0]["flow_run_id"] if runs else None,
                              "seconds": sum(r["seconds"] for r in runs), "assets": {}}
    for r in runs:
        for name, rep in r["assets"].items():
            into = merged["assets"].setdefault(name, {"asset": name, "ran": [], "cached": [],
                                                      "up_to_date": 0, "failed": {},
                                                      "blocked": {}, "held": {},
                                                      "seconds": 0.0})
            for field in ("ran", "cached"):
                into[field] += rep[field]
            for field in ("failed", "blocked", "held"):
                into[field].update(rep[field])
            into["up_to_date"] += rep["up_to_date"]
            into["seconds"] += rep["seconds"]
    merged["ok"] = all(r["ok"] for r in runs)
    return merged
