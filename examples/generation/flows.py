"""The generation flows (examples/generation/prefect.yaml deploys them). Thin: they pick keys
and call the engine.

- `generate-cohort` (generate_cohort): one cohort end to end in one flow run — register its
  keys (the `cohort` asset), then every draft it lists, the essays and evaluations beneath
  them, and the scores table. Only missing, stale and failed keys run: a second run of an
  unchanged cohort computes nothing.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from examples.generation.cohorts import listed_keys
from examples.generation.definitions import defs
from examples.generation.partitions import SETS
from talentflow.engine import RunReport, run_in_flow

# Everything below the drafts: the engine takes, for each of these assets, the keys that read
# the selected drafts (essays of those drafts, their evaluations; all of the scores table).
GENERATE = ["draft", "essay", "evaluation", "scores_by_template_model"]


def ensure_schema() -> str:
    """Migrate the tables the definitions name (the engine's, the talent branch's cost
    ledger); returns the revision. Cheap when already at head."""
    from talentflow.db import migrate

    return migrate.upgrade(defs.migrations)[1]


def merge(first: RunReport, second: RunReport) -> dict[str, Any]:
    """Two reports of one flow run as one dict (assets of both)."""
    out = second.to_dict()
    out["assets"] = {**first.to_dict()["assets"], **out["assets"]}
    out["seconds"] = round(first.seconds + second.seconds, 3)
    out["ok"] = first.ok and second.ok
    return out


def pending_work(cohort_id: str) -> dict[str, int]:
    """How many keys per asset a `generate_cohort(cohort_id)` run would compute now (from the
    bulk status, no flow run): {} when the cohort and all it lists are up to date."""
    from talentflow.db import connect
    from talentflow.engine import KeySelection, pending

    bound = defs.bind()
    todo = pending(bound, [bound.get("cohort")], KeySelection(keys=(cohort_id,)))
    if todo:
        return todo  # the membership changed: what it lists is known after registering
    with connect() as conn:
        drafts = listed_keys(conn, cohort_id, "draft")
    if not drafts:
        return {}
    return pending(bound, bound.select(GENERATE),
                   KeySelection(keys=tuple(drafts), partition_set=SETS["draft"].name))


@flow(name="generate-cohort", flow_run_name="generate-cohort-{cohort_id}")
def generate_cohort(cohort_id: str) -> dict[str, Any]:
    """Register `cohort_id`'s generations and bring them (and the scores) up to date."""
    from talentflow.db import connect

    ensure_schema()
    registered = run_in_flow(defs, ["cohort"], partition_key=cohort_id)
    if registered.failed:
        return {"cohort": cohort_id, **registered.to_dict()}
    with connect() as conn:
        drafts = listed_keys(conn, cohort_id, "draft")
    if not drafts:
        return {"cohort": cohort_id, **registered.to_dict()}
    generated = run_in_flow(defs, GENERATE, partition_keys=drafts,
                            partition_set=SETS["draft"].name)
    return {"cohort": cohort_id, **merge(registered, generated)}

