"""What the `talentflow` CLI loads to know the project's assets (TALENTFLOW_DEFINITIONS).

The assets are declared in tasks/assets.py; this front-door module adds how to materialize
them (`talentflow materialize ASSET --partition KEY`), which only the flow layer knows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from talentflow.talent.entities import CANDIDATE, JOB
from tasks import assets


def _runner(kind: str):
    def run(keys: Sequence[str]) -> Any:
        from flows.batch import talent_batch

        # Every step of the keys' side that is missing, stale or failed runs; fresh ones not.
        ids = list(keys)
        if kind == "candidate":
            return talent_batch(candidate_ids=ids, job_ids=[])
        return talent_batch(candidate_ids=[], job_ids=ids)

    return run


for _ent in (CANDIDATE, JOB):
    for _name in (_ent.normalized_asset, _ent.vectors_asset, _ent.matches_asset):
        assets.get(_name).runner = _runner(_ent.kind)

ASSETS = assets.ASSETS
