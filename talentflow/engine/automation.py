"""Declarative automation: when the reconcile loop runs an asset.

    @asset(partitions=days, automation=OnCron("0 1,13 * * *", timezone="Europe/Berlin"))
    @asset(partitions=items, automation=Eager())

- `Eager()`: keys that are missing (new keys included), stale, or whose run died (lease
  expired); with `retry_failed=True` also keys whose computation failed.
- `OnMissing()`: keys never materialized, and keys whose run died.
- `OnCron(cron, timezone)`: at each cron tick, the latest complete window of a
  time-partitioned asset (every missing or stale key otherwise).
- `Manual()` or none: nothing; only explicit runs.

Evaluation is planning: one bulk status query per asset (`pending`), never a probe per key.
Events stay the fast path; the reconcile loop is the durable one — after any crash, lost event
or database restart, the next evaluation finds what is missing, stale or abandoned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from croniter import croniter

from talentflow.engine.run import LEASE_EXPIRED


class Condition:
    """When an asset runs by itself. `states` are what a run over it selects."""

    states: frozenset[str] = frozenset()

    def describe(self) -> str:
        return type(self).__name__


@dataclass(frozen=True)
class Eager(Condition):
    retry_failed: bool = False

    @property
    def states(self) -> frozenset[str]:  # type: ignore[override]
        base = {"missing", "stale", LEASE_EXPIRED}
        return frozenset(base | ({"failed"} if self.retry_failed else set()))

    def describe(self) -> str:
        return "eager" + (" (retries failed keys)" if self.retry_failed else "")


@dataclass(frozen=True)
class OnMissing(Condition):
    @property
    def states(self) -> frozenset[str]:  # type: ignore[override]
        return frozenset({"missing", LEASE_EXPIRED})

    def describe(self) -> str:
        return "on missing"


@dataclass(frozen=True)
class OnCron(Condition):
    cron: str
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if not croniter.is_valid(self.cron) or len(self.cron.split()) != 5:
            raise ValueError(f"OnCron: {self.cron!r} is not a 5-field cron expression")
        ZoneInfo(self.timezone)  # an unknown zone fails at declaration

    @property
    def states(self) -> frozenset[str]:  # type: ignore[override]
        return frozenset({"missing", "stale", LEASE_EXPIRED})

    def last_tick(self, now: datetime) -> datetime:
        """The most recent cron tick at or before `now`."""
        local = now.astimezone(ZoneInfo(self.timezone))
        return croniter(self.cron, local).get_prev(datetime).astimezone(UTC)

    def describe(self) -> str:
        return f"on cron {self.cron!r} ({self.timezone})"


@dataclass(frozen=True)
class Manual(Condition):
    def describe(self) -> str:
        return "manual"


def condition_of(asset: object) -> Condition:
    found = getattr(asset, "automation", None)
    if found is None:
        return Manual()
    if not isinstance(found, Condition):
        raise TypeError(f"asset {getattr(asset, 'name', '?')!r}: automation= takes Eager(), "
                        f"OnMissing(), OnCron(...) or Manual(), not {found!r}")
    return found


def automated(assets: Sequence[object]) -> list[object]:
    return [a for a in assets if not isinstance(condition_of(a), Manual)]
