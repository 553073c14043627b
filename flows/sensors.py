"""new_rows_sensor: new or changed source rows -> registered keys -> one event per key.

New rows are found by commit visibility. The sensor never locks a source table, and no
transaction is open while it talks to Prefect.

**What a row carries.** Each write to `candidates`/`jobs` gets, from a BEFORE trigger (migration
0006), `change_xid`, the writing transaction's 64-bit id (`pg_current_xact_id()`, xid8:
it never wraps), and then `change_seq`, a sequence value. A no-op UPDATE keeps both, so it
emits nothing and triggers nothing.

**Why a change_seq cursor is not enough.** change_seq is taken when a row is written, not
when it commits. A transaction holding 10 can commit after one holding 11 did, so a cursor
moved to 11 loses 10. Handing on only rows whose `change_xid` is below the snapshot's xmin
does not fix that. Say T1 (xid 99) writes seq 5, T2 (xid 100) writes seq 6 and stays open,
then T1 writes seq 7 and commits. Every visible row has xid < xmin = 100, yet a cursor moved
to 7 loses 6 when T2 commits. The former fix, `LOCK TABLE … SHARE`, made every writer wait
for the tick, Prefect's HTTP latency included.

**The scheme (PgQ's batches).** The cursor is a snapshot. `done_snapshot` D means that every
row whose change_xid is committed in D has been handed on. A tick takes S =
`pg_current_snapshot()` and hands on the rows whose change_xid is committed in S but not in D
(`pg_visible_in_snapshot`). Then D := S.

* Nothing is lost. A row version becomes visible when its writing transaction commits, and
  not before. A transaction still in flight at S is either listed in S or has an id ≥ S's
  xmax, so it is not committed in S. Its rows, whatever change_seq they hold, are neither in
  this batch nor excluded by D := S, so they fall into the batch of the first snapshot that
  sees them committed. A transaction that finished earlier has its rows visible to every
  later read.
* Nothing is handed on twice. The batches (D, S] of successive ticks are disjoint sets of
  transactions. Within a batch, rows go in (change_xid, change_seq) order behind a keyset.
* The content handed on is the row as read. If a later transaction changed the row
  meanwhile, its newer content goes out now or in that transaction's batch. As before,
  intermediate versions may be skipped, but the latest one never is.
* Writers are never blocked and never delayed. A transaction in flight holds back only its
  own rows: N+1, committed, goes out while N's writer is still open, and N goes out after
  N's writer commits (its NOTIFY wakes the listener).

**Order of work, per table.** This is what makes a crash harmless:

1. Read. One statement gives the cursor and S; another reads a page of the batch from the
   `(change_xid, change_seq)` index. If the page is empty, nothing is written. A new batch's S
   is stored (`batch_snapshot`) before anything is sent, so a retried tick reads the same
   page.
2. Hand on, while no transaction is open. Events go out by POST, with ids derived from
   (database, key, change_seq), so the server drops ids it already has. A burst becomes ONE
   talent-batch run, created with an idempotency key made from the page's content. The direct
   talent_batch (no deployment, no server: `flush`) also runs here.
3. Move the cursor (the keyset, and D := S once the batch ends) and register the keys. This
   is one short transaction, a compare-and-set on `sensor_cursors.version`.

A crash before step 3 re-sends the same page: the same event ids, the same idempotency key,
and for a direct batch a re-run in which up-to-date keys are not recomputed. A crash after
step 3 leaves nothing to send.

**Ticks take turns.** Ticks of one table take turns through a session-level advisory lock on
the tick's connection. A tick waits for it for at most LOCK_TIMEOUT; if it cannot get it, the
tick skips the table and the listener tries again in a second. The lock is not a lock on any
table.

**`position`.** This is a plain watermark, shown by `talentflow sensor status`: every
change_seq ≤ position has been handed on. It also filters reads, so a cursor row written
with only a position means "up to there". It moves by a mark. When a batch starts, the tick
reads L (the sequence's last value) and then, writing the cursor, takes a transaction id N.
Every value ≤ L was taken by a transaction whose id is below N, because the trigger takes the
id before the value. Once a done snapshot has no transaction below N in flight
(xmin ≥ N), all their rows have been handed on, so position := L. The mark usually lands one
tick later. This assumes `source_change_seq` keeps CACHE 1 (migration 0001).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
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
LOCK_TIMEOUT = "2s"  # how long a tick waits for another tick of the same table
_LOCK_CLASS = 7431002  # advisory lock class of the sensor's cursors (7431001: migrations)
_SHOWN_KEYS = 3


def burst_size() -> int:
    """Above this many rows in one page, the sensor starts one batch run instead of events."""
    return int(os.environ.get("TALENTFLOW_SENSOR_BURST", DEFAULT_BURST))


def cursor_name(ent: Entity) -> str:
    return f"{SENSOR_NAME}:{ent.table}"


def summarize_keys(keys: Sequence[str], shown: int = _SHOWN_KEYS) -> str:
    """Keys for a log line, never all of them: `240 keys (c-1, c-2, c-3, …)`."""
    n = len(keys)
    if n == 0:
        return "0 keys"
    head = ", ".join(keys[:shown]) + (", …" if n > shown else "")
    return f"{n} key{'s' if n != 1 else ''} ({head})"


@dataclass(frozen=True)
class FoundRow:
    key: str
    change_seq: int
    data_version: str
    change_xid: str = "0"  # xid8 as text


@dataclass
class TableReport:
    table: str
    cursor_before: int = 0  # `position` (the change_seq watermark) before and after the tick
    cursor_after: int = 0
    rows: int = 0
    new_keys: int = 0
    events: int = 0
    batch_runs: list[str] = field(default_factory=list)
    skipped: str | None = None  # why the table was not (fully) read this tick
    done_snapshot: str | None = None  # every row committed in it is handed on
    seconds: float = 0.0


class Dispatcher(Protocol):
    """Where a tick hands its findings. Called while no transaction is open, always before
    the cursor moves past them. Raising keeps the cursor where it is: the same rows, with the
    same event ids and idempotency keys, are handed on again by the next tick."""

    def send_events(self, batch: list[events.PartitionEvent]) -> None:
        """Deliver the events or raise."""

    def start_batch(self, ent: Entity, keys: list[str], idempotency_key: str) -> str:
        """Start (or defer to `flush`) one batch run over keys; a label for it."""

    def flush(self) -> list[str]:
        """Complete what was deferred (direct talent_batch runs) before the cursor moves;
        labels of the runs."""


class PrefectDispatcher:
    """Events to the Prefect server; bursts as a `talent-batch` deployment run when deployed,
    else as one direct `talent_batch` call in `flush` (before the cursor moves)."""

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
            return "deferred: direct talent_batch call before the cursor moves"
        from prefect.deployments import run_deployment

        # The idempotency key names the page's content: a page handed on again (a crash
        # before the cursor moved) gets the same run back, not a second one.
        run = run_deployment(
            BATCH_DEPLOYMENT, parameters=_batch_parameters({ent.kind: keys}), timeout=0,
            idempotency_key=idempotency_key, as_subflow=False,
        )
        logger.info("talent-batch run %s over %s", run.id, summarize_keys(keys))
        return f"flow-run/{run.id}"

    def flush(self) -> list[str]:
        return _run_batch_directly(self._deferred)


class LocalDispatcher:
    """No Prefect server (PREFECT_API_URL unset): nothing could receive events, so every key
    found is processed by one direct `talent_batch` call in `flush`, before the cursor moves."""

    def __init__(self) -> None:
        self._deferred: dict[str, list[str]] = {}

    def send_events(self, batch: list[events.PartitionEvent]) -> None:
        for e in batch:
            self._deferred.setdefault(e.kind, []).append(e.key)

    def start_batch(self, ent: Entity, keys: list[str], idempotency_key: str) -> str:
        self._deferred.setdefault(ent.kind, []).extend(keys)
        return "deferred: direct talent_batch call before the cursor moves"

    def flush(self) -> list[str]:
        return _run_batch_directly(self._deferred)


def _batch_parameters(keys_by_kind: dict[str, list[str]]) -> dict[str, list[str]]:
    # An empty list, not None, for the other side: None means "every row" to talent_batch.
    return {f"{kind}_ids": sorted(set(keys_by_kind.get(kind, []))) for kind in ENTITIES}


def _run_batch_directly(keys_by_kind: dict[str, list[str]]) -> list[str]:
    if not any(keys_by_kind.values()):
        return []
    from flows.batch import talent_batch

    params = _batch_parameters(keys_by_kind)
    keys_by_kind.clear()  # raising or not: a retried tick hands the page on again itself
    logger.info("direct talent_batch over %s", "; ".join(
        f"{name}: {summarize_keys(keys)}" for name, keys in params.items() if keys))
    result = talent_batch(**params)
    return [f"talent_batch direct call ({result.get('seconds')} s)"]


def default_dispatcher() -> Dispatcher:
    return PrefectDispatcher() if events.api_url() else LocalDispatcher()


def _flush(dispatcher: Any) -> list[str]:
    flush = getattr(dispatcher, "flush", None)
    if flush is None:  # a dispatcher written for the former protocol (bench/sensor_tick.py)
        flush = getattr(dispatcher, "after_commit", None)
    return list(flush()) if flush else []


def _source_token(conn: psycopg.Connection) -> str:
    """Names this database in event ids (change_seq restarts in a new database)."""
    row = conn.execute(
        "SELECT current_database() || ':' || oid FROM pg_database "
        "WHERE datname = current_database()"
    ).fetchone()
    return row[0]


# -- the cursor -----------------------------------------------------------------------------
@dataclass
class _Cursor:
    name: str
    position: int
    done: str | None  # done_snapshot
    batch: str | None  # batch_snapshot
    after_xid: str  # keyset inside the batch: (change_xid, change_seq) already handed on
    after_seq: int
    version: int
    now: str  # pg_current_snapshot() when the cursor was read
    mark_reached: bool  # `now` has no transaction below mark_xid in flight


# Rows of one batch: committed in `cur` but not in `done`, past the keyset, past `position`.
# The xid bounds are constant for the planner: a range scan of (change_xid, change_seq).
# (The xid goes out as text under another name: ORDER BY must sort by the xid8 column.)
_PAGE_SQL = """
SELECT t.id, t.change_seq, t.content_hash, t.change_xid::text AS xid_text FROM {table} t
WHERE t.change_seq > %(position)s
  AND t.change_xid >= coalesce(pg_snapshot_xmin(%(done)s::pg_snapshot), '0'::xid8)
  AND t.change_xid < pg_snapshot_xmax(%(cur)s::pg_snapshot)
  AND (t.change_xid, t.change_seq) > (%(after_xid)s::xid8, %(after_seq)s::bigint)
  AND pg_visible_in_snapshot(t.change_xid, %(cur)s::pg_snapshot)
  AND NOT coalesce(pg_visible_in_snapshot(t.change_xid, %(done)s::pg_snapshot), false)
ORDER BY t.change_xid, t.change_seq
LIMIT %(limit)s
"""

# Rows not handed on yet, as far as what is committed now.
_PENDING_SQL = """
SELECT count(*) FROM {table}
WHERE change_seq > %(position)s
  AND change_xid >= coalesce(pg_snapshot_xmin(%(done)s::pg_snapshot), '0'::xid8)
  AND NOT coalesce(pg_visible_in_snapshot(change_xid, %(done)s::pg_snapshot), false)
  AND NOT coalesce(pg_visible_in_snapshot(change_xid, %(batch)s::pg_snapshot)
                   AND (change_xid, change_seq) <= (%(after_xid)s::xid8, %(after_seq)s::bigint),
                   false)
"""

# Ends the batch: everything committed in %(snap)s is handed on. The watermark moves to the
# mark once no transaction below mark_xid was in flight at %(snap)s.
_FINISH_SQL = """
UPDATE sensor_cursors SET
    done_snapshot = %(snap)s::pg_snapshot,
    position = CASE WHEN mark_xid <= pg_snapshot_xmin(%(snap)s::pg_snapshot)
                    THEN greatest(position, mark_seq) ELSE position END,
    mark_seq = CASE WHEN mark_xid <= pg_snapshot_xmin(%(snap)s::pg_snapshot)
                    THEN NULL ELSE mark_seq END,
    mark_xid = CASE WHEN mark_xid <= pg_snapshot_xmin(%(snap)s::pg_snapshot)
                    THEN NULL ELSE mark_xid END,
    batch_snapshot = NULL, batch_xid = NULL, batch_seq = NULL,
    version = version + 1, updated_at = now()
WHERE name = %(name)s AND version = %(version)s
RETURNING position, version
"""


class _CursorMoved(Exception):
    """The cursor changed under this tick (compare-and-set failed): its page is left."""


def _read_cursor(conn: psycopg.Connection, name: str) -> _Cursor:
    query = (
        "SELECT position, done_snapshot::text, batch_snapshot::text, "
        "coalesce(batch_xid, '0')::text, coalesce(batch_seq, 0), version, "
        "pg_current_snapshot()::text, "
        "coalesce(mark_xid <= pg_snapshot_xmin(pg_current_snapshot()), false) "
        "FROM sensor_cursors WHERE name = %s"
    )
    row = conn.execute(query, (name,)).fetchone()
    if row is None:
        conn.execute(
            "INSERT INTO sensor_cursors (name) VALUES (%s) ON CONFLICT (name) DO NOTHING", (name,)
        )
        row = conn.execute(query, (name,)).fetchone()
    return _Cursor(name, *row)


def _read_page(conn: psycopg.Connection, ent: Entity, cur: _Cursor, limit: int
               ) -> list[FoundRow]:
    rows = conn.execute(_PAGE_SQL.format(table=ent.table), {
        "position": cur.position, "done": cur.done, "cur": cur.batch or cur.now,
        "after_xid": cur.after_xid, "after_seq": cur.after_seq, "limit": limit,
    }).fetchall()
    return [FoundRow(key=r[0], change_seq=r[1], data_version=r[2], change_xid=r[3])
            for r in rows]


def _start_batch(conn: psycopg.Connection, cur: _Cursor) -> None:
    """Store the batch's snapshot before anything of it is sent, and take a mark if none is
    pending: L read first, then this transaction's id N (see the module docstring)."""
    with conn.transaction():
        last = conn.execute(
            "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END "
            "FROM source_change_seq"
        ).fetchone()[0]
        row = conn.execute(
            """
            UPDATE sensor_cursors SET
                batch_snapshot = %(snap)s::pg_snapshot, batch_xid = NULL, batch_seq = NULL,
                mark_seq = CASE WHEN mark_xid IS NULL THEN %(last)s ELSE mark_seq END,
                mark_xid = coalesce(mark_xid, pg_current_xact_id()),
                version = version + 1, updated_at = now()
            WHERE name = %(name)s AND version = %(version)s
            RETURNING version
            """,
            {"snap": cur.now, "last": last, "name": cur.name, "version": cur.version},
        ).fetchone()
        if row is None:
            raise _CursorMoved(cur.name)
    cur.batch, cur.version = cur.now, row[0]


def _finish(conn: psycopg.Connection, cur: _Cursor, snap: str) -> int:
    row = conn.execute(_FINISH_SQL, {"snap": snap, "name": cur.name,
                                     "version": cur.version}).fetchone()
    if row is None:
        raise _CursorMoved(cur.name)
    cur.position, cur.version = row
    cur.done, cur.batch = snap, None
    return cur.position


def _move(conn: psycopg.Connection, ent: Entity, cur: _Cursor, found: list[FoundRow],
          full: bool) -> int:
    """Step 3: move the cursor past a handed-on page and register its keys, in one short
    transaction. Returns how many keys were new."""
    with conn.transaction():
        new_keys = registry.add_keys(conn, ent.table, [r.key for r in found])
        if full:
            row = conn.execute(
                "UPDATE sensor_cursors SET batch_xid = %s::xid8, batch_seq = %s, "
                "version = version + 1, updated_at = now() "
                "WHERE name = %s AND version = %s RETURNING version",
                (found[-1].change_xid, found[-1].change_seq, cur.name, cur.version),
            ).fetchone()
            if row is None:
                raise _CursorMoved(cur.name)
            cur.version = row[0]
            cur.after_xid, cur.after_seq = found[-1].change_xid, found[-1].change_seq
        else:
            _finish(conn, cur, cur.batch)
    return new_keys


# -- one tick -------------------------------------------------------------------------------
@dataclass
class _Table:
    ent: Entity
    report: TableReport
    more: bool = True
    cursor: _Cursor | None = None
    page: list[FoundRow] = field(default_factory=list)
    full: bool = False
    started_batch: bool = False  # this tick began a batch of this table
    resumed: bool = False  # the page belongs to a batch an earlier tick began


def _lock(conn: psycopg.Connection, name: str) -> bool:
    """Take this cursor's session advisory lock, waiting at most LOCK_TIMEOUT."""
    try:
        with conn.transaction():
            conn.execute("SELECT set_config('lock_timeout', %s, true)", (LOCK_TIMEOUT,))
            conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (_LOCK_CLASS, name))
    except psycopg.errors.LockNotAvailable:
        return False
    return True


def _unlock(conn: psycopg.Connection, name: str) -> None:
    if conn.closed:
        return
    try:
        conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (_LOCK_CLASS, name))
    except psycopg.Error:  # a broken connection: its session, and the lock, are gone
        logger.debug("could not release the sensor lock of %s", name, exc_info=True)


def _next_page(conn: psycopg.Connection, t: _Table, page_size: int) -> None:
    """Step 1 for one table: the next page to hand on into t.page (empty: nothing to do)."""
    t.page = []
    while True:
        first = t.cursor is None
        cur = t.cursor = _read_cursor(conn, cursor_name(t.ent))
        if first:
            t.report.cursor_before = cur.position
        found = _read_page(conn, t.ent, cur, page_size)
        if found:
            t.resumed = cur.batch is not None and not t.started_batch
            if cur.batch is None:
                _start_batch(conn, cur)
                t.started_batch = True
            t.page, t.full = found, len(found) == page_size
            return
        if cur.batch is not None:
            # The rest of a batch an earlier tick (or page) began is empty: it is done, and
            # what committed since is the next batch.
            with conn.transaction():
                _finish(conn, cur, cur.batch)
            continue
        if cur.mark_reached:  # nothing new, but the watermark can move (one write, once)
            with conn.transaction():
                _finish(conn, cur, cur.now)
        t.more = False
        return


def _hand_on(conn: psycopg.Connection, t: _Table, dispatcher: Dispatcher, burst: int,
             source: str) -> None:
    """Step 2 for one table's page (no transaction open)."""
    ent, found, report = t.ent, t.page, t.report
    keys = [r.key for r in found]
    if len(found) > burst:
        digest = hashlib.sha256("\n".join(
            f"{r.key}\x1f{r.change_seq}" for r in found).encode()).hexdigest()[:32]
        label = dispatcher.start_batch(ent, keys, f"{SENSOR_NAME}:{source}:{ent.table}:{digest}")
        report.batch_runs.append(label)
        logger.info("%s: %s -> one batch run (%s)", ent.table, summarize_keys(keys), label)
        return
    # At most `burst` keys: a primary-key probe each (~0.1 ms) tells new from known.
    new = {k for k in keys if not registry.has_key(conn, ent.table, k)}
    batch = [
        events.PartitionEvent(
            kind=ent.kind, set_name=ent.table, key=r.key,
            change=events.REGISTERED if r.key in new else events.CHANGED,
            data_version=r.data_version, change_seq=r.change_seq, source=source,
        )
        for r in sorted(found, key=lambda r: r.change_seq)
    ]
    dispatcher.send_events(batch)
    report.events += len(batch)
    logger.info("%s: %s -> %d event(s)", ent.table, summarize_keys(keys), len(batch))


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
    flushed: list[str] = []
    with ExitStack() as stack:
        if conn is None:
            conn = stack.enter_context(connect(vector=False, autocommit=True))
        source = _source_token(conn)
        tables: list[_Table] = []
        for ent in entities or ENTITIES.values():
            t = _Table(ent, TableReport(table=ent.table))
            tables.append(t)
            if _lock(conn, cursor_name(ent)):
                stack.callback(_unlock, conn, cursor_name(ent))
            else:
                t.more = False
                t.report.skipped = (f"another tick holds {ent.table} for more than "
                                    f"{LOCK_TIMEOUT}; next tick")
        # Rounds: a page of each table is handed on, then what was deferred runs (one direct
        # batch for both tables), then the cursors move.
        while active := [t for t in tables if t.more]:
            for t in active:
                t0 = time.perf_counter()
                try:
                    _next_page(conn, t, page_size)
                except _CursorMoved:
                    t.more, t.page = False, []
                    t.report.skipped = "cursor moved by another tick; left to it"
                if t.page:
                    _hand_on(conn, t, dispatcher, burst, source)
                t.report.seconds += time.perf_counter() - t0
            flushed += _flush(dispatcher)
            for t in active:
                if not t.page:
                    continue
                t0 = time.perf_counter()
                try:
                    t.report.new_keys += _move(conn, t.ent, t.cursor, t.page, t.full)
                except _CursorMoved:
                    t.more = False
                    t.report.skipped = "cursor moved by another tick; left to it"
                else:
                    t.report.rows += len(t.page)
                    # Go on while the batch has more pages, or after finishing one an earlier
                    # tick had begun (what committed since is still to do).
                    t.more = t.full or t.resumed
                    t.resumed = False
                t.page = []
                t.report.seconds += time.perf_counter() - t0
        for t in tables:
            if t.cursor is not None:
                t.report.cursor_after = t.cursor.position
                t.report.done_snapshot = t.cursor.done
            t.report.seconds = round(t.report.seconds, 4)
    reports = [t.report for t in tables]
    return {
        "tables": {r.table: asdict(r) for r in reports},
        "events": sum(r.events for r in reports),
        "batch_runs": [run for r in reports for run in r.batch_runs] + flushed,
        "seconds": round(time.perf_counter() - started, 4),
    }


def cursors() -> list[dict[str, Any]]:
    """Each table's cursor and how far behind it is (committed rows not handed on yet)."""
    out = []
    with connect(vector=False) as conn:
        for ent in ENTITIES.values():
            row = conn.execute(
                "SELECT position, updated_at, done_snapshot::text, batch_snapshot::text, "
                "coalesce(batch_xid, '0')::text, coalesce(batch_seq, 0) "
                "FROM sensor_cursors WHERE name = %s",
                (cursor_name(ent),),
            ).fetchone()
            position, updated, done, batch, after_xid, after_seq = (
                row if row else (0, None, None, None, "0", 0))
            pending = conn.execute(_PENDING_SQL.format(table=ent.table), {
                "position": position, "done": done, "batch": batch,
                "after_xid": after_xid, "after_seq": after_seq,
            }).fetchone()[0]
            out.append({"table": ent.table, "position": position, "pending_rows": pending,
                        "done_snapshot": done, "batch_in_progress": batch is not None,
                        "updated_at": updated.isoformat() if updated else None})
    return out


@flow(name=SENSOR_NAME, flow_run_name=SENSOR_NAME)
def new_rows_sensor(burst: int | None = None, page_size: int = DEFAULT_PAGE_SIZE
                    ) -> dict[str, Any]:
    """Find new or changed candidate and job rows, register their keys and emit one event per
    key (or start one batch run for a burst). Deployed without a schedule: `talentflow serve`
    ticks on NOTIFY (and a fallback timer); also `talentflow sensor tick` or a manual run."""
    return tick(burst=burst, page_size=page_size)


def listen_and_tick(stop: threading.Event, *, fallback_s: float = 30.0,
                    on_tick: Callable[[dict[str, Any]], None] | None = None,
                    on_error: Callable[[BaseException], None] | None = None) -> None:
    """Tick whenever a source table NOTIFYs (and every `fallback_s` regardless) until `stop`.

    This is what makes insert -> event take milliseconds under `talentflow serve` instead of
    waiting for the fallback timer. Notifications arriving during a tick are folded into the
    next one; a table skipped because another tick held it is tried again a second later.
    """
    from talentflow.db.engine import database_url

    while not stop.is_set():
        try:
            with psycopg.connect(database_url(), autocommit=True) as conn, \
                    psycopg.connect(database_url(), autocommit=True) as tick_conn:
                conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                # At once on (re)connecting: notifications sent while not listening are lost.
                last = float("-inf")
                again = False
                while not stop.is_set():
                    woke = _wait_for_notify(conn, timeout=min(1.0, fallback_s))
                    if woke or again or time.monotonic() - last >= fallback_s:
                        last = time.monotonic()
                        result = tick(conn=tick_conn)
                        again = any(t.get("skipped")
                                    for t in result.get("tables", {}).values())
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
