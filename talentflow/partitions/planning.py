"""Plan a run over many keys from the bulk status: submit only what needs work.

A cache hit in Prefect still costs a task run (~15 ms each here), so discovering 10k
unchanged partitions by submitting 10k tasks takes minutes; one status query takes well
under a second. Plan first, submit `plan.to_run`, let cache keys guard the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg

from talentflow.partitions.assets import Asset
from talentflow.partitions.status import status

# What a plan re-runs by default: everything that is not a current, successful result.
RUN_STATES = frozenset({"missing", "stale", "failed"})


@dataclass
class Plan:
    asset: str
    to_run: list[str] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)
    running: list[str] = field(default_factory=list)
    reasons: dict[str, tuple[str, ...]] = field(default_factory=dict)  # why each key runs

    def __bool__(self) -> bool:  # "if plan:" — is there anything to do
        return bool(self.to_run)

    def summary(self) -> str:
        return (f"{self.asset}: {len(self.to_run)} to run, {len(self.up_to_date)} up to date, "
                f"{len(self.running)} running")


def plan(
    conn: psycopg.Connection,
    asset: Asset,
    keys: Sequence[str] | None = None,
    *,
    states: frozenset[str] = RUN_STATES,
    include_running: bool = False,
    propagate: bool = False,
) -> Plan:
    """Split the selected keys (default: all of the asset's set) into work and no work.

    `states` picks what runs (e.g. {"missing"} for a sensor, {"failed"} for a retry);
    running keys are left alone unless `include_running` (a crashed run never finished).
    """
    result = Plan(asset.name)
    for s in status(conn, asset, keys, propagate=propagate):
        if s.status in states or (include_running and s.status == "running"):
            result.to_run.append(s.key)
            result.reasons[s.key] = s.reasons or (s.status,)
        elif s.status == "running":
            result.running.append(s.key)
        else:
            result.up_to_date.append(s.key)
    return result
