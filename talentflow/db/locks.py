"""At most one run in flight per (flow, key): a PostgreSQL advisory lock held for the run.

Why an advisory lock and not a Prefect concurrency limit: a tag or global limit per key would
have to exist before the run (one limit per partition key), and a missing limit only logs and
does not serialize (PREFECT_NOTES). The database both runs write to is the natural referee:

* the lock lives on a dedicated connection opened for the run, so it is released when the run
  ends or its process dies (the connection closes), never left behind;
* a second run for the same (flow, key) waits for the first and then runs (queued, not
  dropped): it may have been started by a newer change the first run did not read; its steps
  are then cache hits or up to date. Writes of one partition are never concurrent;
* the wait is bounded (`TALENTFLOW_PARTITION_LOCK_WAIT_S`, default 600 s): past it the run
  fails with `PartitionBusy`, naming the flow and the key.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg

from talentflow.db.engine import open_connection

DEFAULT_WAIT_S = 600.0


class PartitionBusy(RuntimeError):
    """Another run holds the (flow, key) lock for longer than this run was willing to wait."""

    def __init__(self, flow: str, key: str, waited_s: float) -> None:
        self.flow, self.key, self.waited_s = flow, key, waited_s
        super().__init__(
            f"another {flow!r} run for key {key!r} is still in flight after {waited_s:.0f} s; "
            "not running a second one concurrently"
        )


@dataclass(frozen=True)
class HeldLock:
    flow: str
    key: str
    lock_id: int
    waited_s: float  # 0 when the lock was free: > 0 means this run was queued behind another


def lock_name(flow: str, key: str) -> str:
    # The unit separator cannot appear in a flow name, so (flow, key) pairs never collide.
    return f"talentflow\x1f{flow}\x1f{key}"


def default_wait_s() -> float:
    return float(os.environ.get("TALENTFLOW_PARTITION_LOCK_WAIT_S", DEFAULT_WAIT_S))


@contextmanager
def partition_lock(flow: str, key: str, *, wait_s: float | None = None) -> Iterator[HeldLock]:
    """Hold the (flow, key) lock for the body; wait up to `wait_s` (0: do not wait) for it.

    The lock id is a 64-bit hash of the name (`hashtextextended`): a collision only makes two
    unrelated keys take turns, it can never let two runs of one key overlap.
    """
    wait = default_wait_s() if wait_s is None else wait_s
    conn = open_connection(autocommit=True)
    started = time.monotonic()
    try:
        lock_id = conn.execute(
            "SELECT hashtextextended(%s, 0)", (lock_name(flow, key),)
        ).fetchone()[0]
        got = conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_id,)).fetchone()[0]
        queued = not got
        if not got and wait > 0:
            # Block in the server (woken the moment the holder releases), bounded by
            # lock_timeout, instead of polling from here.
            conn.execute("SELECT set_config('lock_timeout', %s, false)", (f"{int(wait * 1000)}ms",))
            try:
                conn.execute("SELECT pg_advisory_lock(%s)", (lock_id,))
                got = True
            except psycopg.errors.LockNotAvailable:
                got = False
        if not got:
            raise PartitionBusy(flow, key, time.monotonic() - started)
        waited = round(time.monotonic() - started, 3) if queued else 0.0
        yield HeldLock(flow, key, lock_id, waited)
    finally:
        # Closing the session releases every advisory lock it holds, even after an error.
        conn.close()
