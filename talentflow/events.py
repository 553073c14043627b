"""The Prefect events talentflow emits, named once (docs/events.md).

A source row found by the sensor becomes one event:

* `talentflow.<kind>.registered` — its key entered the partition set with this change;
* `talentflow.<kind>.changed` — a known key whose row content changed.

The event's resource is the partition: id `talentflow.<kind>.<key>`, plus labels carrying the
key, the partition set, the row's data version and its `change_seq`. Deployment triggers read the
key from the `talentflow.key` label rather than by splitting the id, so keys may contain dots.

Two layers make a repeated event harmless: its id is derived from (database, kind, key,
change_seq), so a
re-sent event is the same event to the server (it skips ids it has seen), and the triggers bucket
by (resource, change_seq) within a window, so two events for one change start one run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

NAMESPACE = "talentflow"
REGISTERED = "registered"
CHANGED = "changed"
Change = Literal["registered", "changed"]

# Resource labels (Prefect label names are dotted, like `prefect.resource.id`).
KEY_LABEL = "talentflow.key"
SET_LABEL = "talentflow.partition-set"
DATA_VERSION_LABEL = "talentflow.data-version"
CHANGE_SEQ_LABEL = "talentflow.change-seq"

# Namespace for deterministic event ids: the same change always gets the same id.
_EVENT_ID_NAMESPACE = uuid.UUID("5b0c6a51-1f0e-4a55-9a57-8f3f6d1d7e21")


def resource_id(kind: str, key: str) -> str:
    """`talentflow.candidate.c-00001`: the resource id of one partition."""
    return f"{NAMESPACE}.{kind}.{key}"


def resource_prefix(kind: str) -> str:
    """The wildcard a trigger matches every partition of `kind` with."""
    return f"{NAMESPACE}.{kind}.*"


def event_name(kind: str, change: Change) -> str:
    """`talentflow.candidate.registered` or `talentflow.candidate.changed`."""
    if change not in (REGISTERED, CHANGED):
        raise ValueError(f"unknown change {change!r}; expected {REGISTERED!r} or {CHANGED!r}")
    return f"{NAMESPACE}.{kind}.{change}"


def key_from_resource_id(kind: str, rid: str) -> str:
    """The key back from a resource id (everything after the `talentflow.<kind>.` prefix)."""
    prefix = f"{NAMESPACE}.{kind}."
    if not rid.startswith(prefix) or rid == prefix:
        raise ValueError(f"{rid!r} is not a {kind} partition resource id ({prefix}<key>)")
    return rid[len(prefix):]


@dataclass(frozen=True)
class PartitionEvent:
    """One source row seen by the sensor: which partition, what happened, which version."""

    kind: str
    set_name: str
    key: str
    change: Change
    data_version: str
    change_seq: int
    # Which database the row lives in (see flows/sensors.py): change_seq restarts in a new
    # database, and a new database's change must not look like an old, already-seen event.
    source: str = ""

    @property
    def name(self) -> str:
        return event_name(self.kind, self.change)

    @property
    def id(self) -> uuid.UUID:
        name = "\x1f".join((self.source, self.kind, self.key, str(self.change_seq)))
        return uuid.uuid5(_EVENT_ID_NAMESPACE, name)

    def resource(self) -> dict[str, str]:
        return {
            "prefect.resource.id": resource_id(self.kind, self.key),
            "prefect.resource.name": self.key,
            KEY_LABEL: self.key,
            SET_LABEL: self.set_name,
            DATA_VERSION_LABEL: self.data_version,
            CHANGE_SEQ_LABEL: str(self.change_seq),
        }

    def payload(self) -> dict[str, Any]:
        return {"key": self.key, "set": self.set_name, "data_version": self.data_version,
                "change_seq": self.change_seq}

    def to_json(self, occurred: datetime | None = None) -> dict[str, Any]:
        """The event as Prefect's `POST /events` expects it."""
        return {
            "id": str(self.id),
            "occurred": (occurred or datetime.now(UTC)).isoformat(),
            "event": self.name,
            "resource": self.resource(),
            "related": [],
            "payload": self.payload(),
        }


def api_url() -> str | None:
    """The Prefect API events are sent to, or None when only the ephemeral API exists.

    Read from Prefect's settings when prefect is imported (profiles count), else from the
    environment, so that asking does not cost the ~3 s `import prefect`.
    """
    import sys

    if "prefect.settings" in sys.modules:
        from prefect.settings import PREFECT_API_URL

        return PREFECT_API_URL.value() or None
    return os.environ.get("PREFECT_API_URL") or None


def send(events: Sequence[PartitionEvent]) -> None:
    """Send events to the Prefect API in ONE request and return once the server accepted them.

    `prefect.events.emit_event` only queues to a background worker; the sensor needs to know
    the events were delivered before it commits its cursor (at-least-once), so it posts the
    batch itself. Raises if there is no API or the server refuses.
    """
    if not events:
        return
    if api_url() is None:
        raise RuntimeError(
            "no Prefect API to send events to: set PREFECT_API_URL (see `talentflow serve`)"
        )
    from prefect.client.orchestration import get_client

    occurred = datetime.now(UTC)
    with get_client(sync_client=True) as client:
        response = client.request(
            "POST", "/events", json=[e.to_json(occurred) for e in events]
        )
        response.raise_for_status()
