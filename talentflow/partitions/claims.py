"""Claims: a lease on (asset, key) held by a live run — the `running` status and the
in-flight dedupe.

    got = claim(conn, asset, keys, holder=h, flow_run_id=run_id, lease_s=60)
    ... heartbeat(conn, h) every lease/3 s while computing ...
    release(conn, asset, got.claimed, h)       # in the transaction that records the results

Invariants:
- at most one holder per (asset, key) (primary key); a claim is taken only if the key is
  unclaimed, already this holder's, or its lease expired (the run died: no heartbeat);
- status (status.py) shows a live claim as `running` and an expired one as
  `failed: run <id> died (lease expired)`, so a planner never starts a key a live run holds
  and always re-plans a key whose run died;
- releasing happens in the same transaction as recording, so a key is never seen neither
  claimed nor recorded.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg

from talentflow.processes import pid_alive

DEFAULT_LEASE_S = 60


def local_holder(label: str) -> str:
    """A holder id naming this host and process, so a process that died on this host can be
    recognised at once (`expire_dead_local`) instead of after its lease."""
    return f"{socket.gethostname()}:{os.getpid()}:{label}"


def expire_dead_local(conn: psycopg.Connection) -> int:
    """Expire now the claims of holders on this host whose process is gone (a SIGKILL, a
    crash): their keys show `lease expired` and can be planned at once. Returns how many."""
    host = socket.gethostname()
    dead = []
    for (holder,) in conn.execute("SELECT DISTINCT holder FROM partition_claims").fetchall():
        parts = holder.split(":", 2)
        if len(parts) == 3 and parts[0] == host and parts[1].isdigit() \
                and not pid_alive(int(parts[1])):
            dead.append(holder)
    if not dead:
        return 0
    with conn.transaction():
        return conn.execute(
            "UPDATE partition_claims SET heartbeat_at = '-infinity' WHERE holder = ANY(%s)",
            (dead,),
        ).rowcount


@dataclass
class Claimed:
    claimed: list[str] = field(default_factory=list)  # ours now
    held: dict[str, str] = field(default_factory=dict)  # key -> flow run id of a live holder
    taken_over: dict[str, str] = field(default_factory=dict)  # key -> flow run id that died


def claim(conn: psycopg.Connection, asset: str, keys: Sequence[str], *, holder: str,
          flow_run_id: str | None, lease_s: int = DEFAULT_LEASE_S) -> Claimed:
    """Claim the keys that no live run holds; one statement, committed at once."""
    out = Claimed()
    if not keys:
        return out
    with conn.transaction():
        # Expired claims of other holders, read (and locked) before being taken over, so
        # the dead runs can be reported and marked Crashed.
        dead = conn.execute(
            """
            SELECT partition_key, coalesce(flow_run_id, holder) FROM partition_claims
            WHERE asset = %s AND partition_key = ANY(%s) AND holder <> %s
              AND heartbeat_at + lease_seconds * interval '1 second' < now()
            ORDER BY partition_key FOR UPDATE
            """,
            (asset, list(keys), holder),
        ).fetchall()
        got = conn.execute(
            """
            INSERT INTO partition_claims AS c (asset, partition_key, holder, flow_run_id,
                                               lease_seconds)
            SELECT %(asset)s, k, %(holder)s, %(run)s, %(lease)s
            FROM unnest(%(keys)s::text[]) AS k ORDER BY k COLLATE "C"
            ON CONFLICT (asset, partition_key) DO UPDATE SET
                holder = EXCLUDED.holder, flow_run_id = EXCLUDED.flow_run_id,
                lease_seconds = EXCLUDED.lease_seconds, claimed_at = now(),
                heartbeat_at = now()
            WHERE c.holder = EXCLUDED.holder
               OR c.heartbeat_at + c.lease_seconds * interval '1 second' < now()
            RETURNING partition_key
            """,
            {"asset": asset, "holder": holder, "run": flow_run_id, "lease": int(lease_s),
             "keys": list(dict.fromkeys(keys))},
        ).fetchall()
        mine = {r[0] for r in got}
        out.claimed = [k for k in dict.fromkeys(keys) if k in mine]
        out.taken_over = {k: run for k, run in dead if k in mine}
        rest = [k for k in keys if k not in mine]
        if rest:
            out.held = dict(conn.execute(
                "SELECT partition_key, coalesce(flow_run_id, holder) FROM partition_claims "
                "WHERE asset = %s AND partition_key = ANY(%s)",
                (asset, rest),
            ).fetchall())
    return out


def heartbeat(conn: psycopg.Connection, holder: str) -> int:
    """Renew every lease of this holder; returns how many it holds."""
    with conn.transaction():
        cur = conn.execute(
            "UPDATE partition_claims SET heartbeat_at = now() WHERE holder = %s", (holder,)
        )
        return cur.rowcount


def release(conn: psycopg.Connection, asset: str, keys: Sequence[str], holder: str) -> int:
    """Drop this holder's claims on the keys (in the caller's transaction)."""
    if not keys:
        return 0
    cur = conn.execute(
        "DELETE FROM partition_claims WHERE asset = %s AND partition_key = ANY(%s) "
        "AND holder = %s",
        (asset, list(keys), holder),
    )
    return cur.rowcount


def release_all(conn: psycopg.Connection, holder: str) -> int:
    """Drop every claim of this holder (the end of a run, whatever happened)."""
    with conn.transaction():
        return conn.execute("DELETE FROM partition_claims WHERE holder = %s",
                            (holder,)).rowcount


def expire_abandoned(conn: psycopg.Connection, holder_prefix: str,
                     keep_runs: Sequence[str]) -> int:
    """Expire the claims of holders starting with `holder_prefix` (one live process) whose
    flow run is not in `keep_runs`: left over by runs that could not release them (their
    database went away). Claims of runs still executing stay."""
    with conn.transaction():
        return conn.execute(
            "UPDATE partition_claims SET heartbeat_at = '-infinity' "
            "WHERE starts_with(holder, %s) AND flow_run_id IS NOT NULL "
            "AND NOT (flow_run_id = ANY(%s)) AND heartbeat_at > '-infinity'",
            (holder_prefix, sorted(keep_runs)),
        ).rowcount


def expired(conn: psycopg.Connection) -> list[tuple[str, str, str | None]]:
    """(asset, key, flow run id) of every claim whose lease expired: runs that died."""
    return [tuple(r) for r in conn.execute(
        "SELECT asset, partition_key, flow_run_id FROM partition_claims "
        "WHERE heartbeat_at + lease_seconds * interval '1 second' < now() "
        "ORDER BY asset, partition_key"
    ).fetchall()]
