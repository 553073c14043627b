"""new_rows_sensor: new or changed source rows -> registered keys -> one event per key.

One tick, per source table, in ONE transaction:

1. lock this sensor's cursor row (`sensor_cursors`, FOR UPDATE): concurrent ticks take turns;
2. `LOCK TABLE <t> IN SHARE MODE`: waits for writers still in flight. Why: `change_seq` is
   taken when a row is written, not when it commits, so without it a transaction holding
   seq 10 could commit after we had read seq 11 and moved the cursor past it — a row lost
   forever. The lock is held for milliseconds (writers queue behind it that long) and is
   bounded by `lock_timeout`; a tick that cannot get it skips the table and moves nothing;
3. `WHERE change_seq > cursor ORDER BY change_seq LIMIT page` on the index: a tick that finds
   nothing costs one index probe, not a scan (bench numbers in docs/events.md);
4. register the keys in one batch (`registry.add_keys`, idempotent);
5. at most `burst` rows: one event per key, delivered to the server BEFORE the commit
   (at-least-once: a failed commit re-sends the same event ids, which the server skips);
   more than `burst`: ONE `talent-batch` run over the page's keys instead of a run per key;
6. advance the cursor; commit.

A no-op UPDATE does not take a new change_seq (migration 0001), so it emits nothing and
triggers nothing.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import psycopg
from prefect import flow

from talentflow import events
from talentflow.db import connect
from talentflow.partitions import registry
from talentflow.talent.entities import ENTITIES, Entity

logger = logging.getLogger("talentflow.sensor")  # printed by `talentflow serve`

SENSOR_NAME = "new-rows-sensor"
NOTIFY_CHANNEL = "talentflow_source_rows"  # migration 0003 NOTIFYs it on every write
BATCH_DEPLOYMENT = "talent-batch/talent-batch"
DEFAULT_BURST = 50
DEFAULT_PAGE_SIZE = 10_000  # also the most keys one batch run is given
LOCK_TIMEOUT = "2s"


def burst_size() -> int:
    """Above this many rows in one page, the sensor starts one batch run instead of events."""
    return int(os.environ.get("TALENTFLOW_SENSOR_BURST", DEFAULT_BURST))


def cursor_name(ent: Entity) -> str:
    return f"{SENSOR_NAME}:{ent.table}"


@dataclass(frozen=True)
class FoundRow:
    key: str
    change_seq: int
    data_version: str


@dataclass
class TableReport:
    table: str
    cursor_before: int = 0
    cursor_after: int = 0
    rows: int = 0
    new_keys: int = 0
    events: int = 0
    batch_runs: list[str] = field(default_factory=list)
    skipped: str | None = None  # why the table was not read this tick (lock timeout)
    seconds: float = 0.0


class Dispatcher(Protocol):
    """Where a tick hands its findings. Called inside the tick's transaction."""

    def send_events(self, batch: list[events.PartitionEvent]) -> None:
        """Deliver the events or raise (the transaction then rolls back)."""

    def start_batch(self, ent: Entity, keys: list[str], idempotency_key: str) -> str:
        """Start (or defer until after commit) one batch run over keys; a label for it."""

    def after_commit(self) -> list[str]:
        """Work that must only happen once the cursor moved (direct runs); run labels."""


class PrefectDispatcher:
    """Events to the Prefect server; bursts as a `talent-batch` deployment run when deployed,
    else as one direct `talent_batch` call after the commit."""

    def __init__(self) -> None:
        self._deferred: dict[str, list[str]] = {}
        self._deployed: bool | None = None

    def send_events(self, batch: list[events.PartitionEvent]) -> None:
        events.send(batch)

    def _batch_deployed(self) -> bool:
        if self._deployed is None:
            from prefect.client.orchestration import get_client
            from prefect.exceptions import ObjectNotFound

            try:
                with get_client(sync_client=True) as client:
                    client.read_deployment_by_name(BATCH_DEPLOYMENT)
                self._deployed = True
            except ObjectNotFound:
                self._deployed = False
        return self._deployed

    def start_batch(self, ent: Entity, keys: list[str], idempotency_key: str) -> str:
        if not self._batch_deployed():
            self._deferred.setdefault(ent.kind, []).extend(keys)
            return "deferred: direct talent_batch call after commit"
        from prefect.deployments import run_deployment

        # Created before the commit, with an idempotency key made of the page's change_seq
        # range: a tick retried after a failed commit gets the same run back, not a second.
        run = run_deployment(
            BATCH_DEPLOYMENT, parameters=_batch_parameters({ent.kind: keys}), timeout=0,
            idempotency_key=idempotency_key, as_subflow=False,
        )
        return f"flow-run/{run.id}"

    def after_commit(self) -> list[str]:
        return _run_batch_directly(self._deferred)


class LocalDispatcher:
    """No Prefect server (PREFECT_API_URL unset): nothing could receive events, so every key
    found is processed by one direct `talent_batch` call after the commit."""

    def __init__(self) -> None:
        self._deferred: dict[str, list[str]] = {}

    def send_events(self, batch: list[events.PartitionEvent]) -> None:
        for e in batch:
            self._deferred.setdefault(e.kind, []).append(e.key)

    def start_batch(self, ent: Entity, keys: list[str], idempotency_key: str) -> str:
        self._deferred.setdefault(ent.kind, []).extend(keys)
        return "deferred: direct talent_batch call after commit"

    def after_commit(self) -> list[str]:
        return _run_batch_directly(self._deferred)


def _batch_parameters(keys_by_kind: dict[str, list[str]]) -> dict[str, list[str]]:
    # An empty list, not None, for the other side: None means "every row" to talent_batch.
    return {f"{kind}_ids": sorted(set(keys_by_kind.get(kind, []))) for kind in ENTITIES}


def _run_batch_directly(keys_by_kind: dict[str, list[str]]) -> list[str]:
    if not any(keys_by_kind.values()):
        return []
    from flows.batch import talent_batch

    result = talent_batch(**_batch_parameters(keys_by_kind))
    keys_by_kind.clear()
    return [f"talent_batch direct call ({result.get('seconds')} s)"]


def default_dispatcher() -> Dispatcher:
    return PrefectDispatcher() if events.api_url() else LocalDispatcher()


def _source_token(conn: psycopg.Connection) -> str:
    """Names this database in event ids (change_seq restarts in a new database)."""
    row = conn.execute(
        "SELECT current_database() || ':' || oid FROM pg_database "
        "WHERE datname = current_database()"
    ).fetchone()
    return row[0]


def _tick_page(conn: psycopg.Connection, ent: Entity, report: TableReport, *, burst: int,
               page_size: int, dispatcher: Dispatcher, source: str) -> bool:
    """One page of one table in the caller's transaction. True if the page was full."""
    name = cursor_name(ent)
    conn.execute("SELECT set_config('lock_timeout', %s, true)", (LOCK_TIMEOUT,))
    conn.execute(
        "INSERT INTO sensor_cursors (name) VALUES (%s) ON CONFLICT (name) DO NOTHING", (name,)
    )
    position = conn.execute(
        "SELECT position FROM sensor_cursors WHERE name = %s FOR UPDATE", (name,)
    ).fetchone()[0]
    if not report.rows:
        report.cursor_before = position
    report.cursor_after = position
    conn.execute(f"LOCK TABLE {ent.table} IN SHARE MODE")
    found = [
        FoundRow(*r) for r in conn.execute(
            f"SELECT id, change_seq, content_hash FROM {ent.table} "
            "WHERE change_seq > %s ORDER BY change_seq LIMIT %s",
            (position, page_size),
        ).fetchall()
    ]
    if not found:
        return False
    keys = [r.key for r in found]
    if len(found) > burst:
        report.new_keys += registry.add_keys(conn, ent.table, keys)
        idem = f"{SENSOR_NAME}:{source}:{ent.table}:{found[0].change_seq}-{found[-1].change_seq}"
        report.batch_runs.append(dispatcher.start_batch(ent, keys, idem))
    else:
        # At most `burst` keys: a primary-key probe each (~0.1 ms) tells new from known.
        new = {k for k in keys if not registry.has_key(conn, ent.table, k)}
        report.new_keys += registry.add_keys(conn, ent.table, keys)
        batch = [
            events.PartitionEvent(
                kind=ent.kind, set_name=ent.table, key=r.key,
                change=events.REGISTERED if r.key in new else events.CHANGED,
                data_version=r.data_version, change_seq=r.change_seq, source=source,
            )
            for r in found
        ]
        dispatcher.send_events(batch)
        report.events += len(batch)
    report.rows += len(found)
    report.cursor_after = found[-1].change_seq
    conn.execute(
        "UPDATE sensor_cursors SET position = %s, updated_at = now() WHERE name = %s",
        (report.cursor_after, name),
    )
    return len(found) == page_size


def tick(*, burst: int | None = None, page_size: int = DEFAULT_PAGE_SIZE,
         dispatcher: Dispatcher | None = None, entities: Iterable[Entity] | None = None,
         conn: psycopg.Connection | None = None) -> dict[str, Any]:
    """Run the sensor once over every source table; returns what it found and did.

    `conn` (autocommit) lets a caller that ticks often keep one connection: opening one costs
    5-20 ms here, an idle tick on an open one about a millisecond.
    """
    burst = burst_size() if burst is None else burst
    if burst < 0 or page_size < 1:
        raise ValueError(f"burst must be >= 0 and page_size >= 1 (got {burst}, {page_size})")
    dispatcher = dispatcher or default_dispatcher()
    started = time.perf_counter()
    reports = []
    # One connection for the whole tick; each page of each table is its own transaction.
    with ExitStack() as stack:
        if conn is None:
            conn = stack.enter_context(connect(vector=False, autocommit=True))
        source = _source_token(conn)
        for ent in entities or ENTITIES.values():
            report = TableReport(table=ent.table)
            t0 = time.perf_counter()
            more = True
            while more:
                try:
                    with conn.transaction():
                        more = _tick_page(conn, ent, report, burst=burst, page_size=page_size,
                                          dispatcher=dispatcher, source=source)
                except psycopg.errors.LockNotAvailable:
                    # A long write transaction (an ingest) holds the table: nothing moved;
                    # the next tick, or the NOTIFY at that transaction's commit, takes it.
                    report.skipped = f"{ent.table} busy for more than {LOCK_TIMEOUT}; next tick"
                    more = False
            report.seconds = round(time.perf_counter() - t0, 4)
            reports.append(report)
    runs = dispatcher.after_commit()
    return {
        "tables": {r.table: asdict(r) for r in reports},
        "events": sum(r.events for r in reports),
        "batch_runs": [run for r in reports for run in r.batch_runs] + runs,
        "seconds": round(time.perf_counter() - started, 4),
    }


def cursors() -> list[dict[str, Any]]:
    """Each table's cursor and how far behind it is (rows changed since)."""
    out = []
    with connect(vector=False) as conn:
        for ent in ENTITIES.values():
            row = conn.execute(
                "SELECT position, updated_at FROM sensor_cursors WHERE name = %s",
                (cursor_name(ent),),
            ).fetchone()
            position, updated = row if row else (0, None)
            pending = conn.execute(
                f"SELECT count(*) FROM {ent.table} WHERE change_seq > %s", (position,)
            ).fetchone()[0]
            out.append({"table": ent.table, "position": position, "pending_rows": pending,
                        "updated_at": updated.isoformat() if updated else None})
    return out


@flow(name=SENSOR_NAME, flow_run_name=SENSOR_NAME)
def new_rows_sensor(burst: int | None = None, page_size: int = DEFAULT_PAGE_SIZE
                    ) -> dict[str, Any]:
    """Find new or changed candidate and job rows, register their keys and emit one event per
    key (or start one batch run for a burst). Deployed on an interval; also
    `talentflow sensor tick`."""
    return tick(burst=burst, page_size=page_size)


def listen_and_tick(stop: threading.Event, *, fallback_s: float = 30.0,
                    on_tick: Callable[[dict[str, Any]], None] | None = None,
                    on_error: Callable[[BaseException], None] | None = None) -> None:
    """Tick whenever a source table NOTIFYs (and every `fallback_s` regardless) until `stop`.

    This is what makes insert -> event take milliseconds under `talentflow serve` instead of
    half an interval. Notifications arriving during a tick are folded into the next one.
    """
    from talentflow.db.engine import database_url

    while not stop.is_set():
        try:
            with psycopg.connect(database_url(), autocommit=True) as conn, \
                    psycopg.connect(database_url(), autocommit=True) as tick_conn:
                conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                last = 0.0
                while not stop.is_set():
                    woke = _wait_for_notify(conn, timeout=min(1.0, fallback_s))
                    if woke or time.monotonic() - last >= fallback_s:
                        last = time.monotonic()
                        result = tick(conn=tick_conn)
                        if on_tick:
                            on_tick(result)
        except Exception as exc:  # noqa: BLE001 - a dropped connection must not end serving
            if on_error:
                on_error(exc)
            else:
                logger.exception("sensor listener failed; reconnecting")
            stop.wait(1.0)


def _wait_for_notify(conn: psycopg.Connection, timeout: float) -> bool:
    """True if a notification arrived within `timeout`; the rest of a burst is drained so
    that one tick answers all of it."""
    got = False
    for _ in conn.notifies(timeout=timeout, stop_after=1):
        got = True
    if got:
        for _ in conn.notifies(timeout=0.005):
            pass
    return got
