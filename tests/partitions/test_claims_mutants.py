"""Expiring the claims of runs that cannot release them, written after a mutation run
(tests/README.md): `expire_dead_local` and `expire_abandoned` had no test of their own, so
nothing noticed if they expired the wrong holders, or none."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import psycopg

from talentflow.partitions import claims


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def _claim(conn: psycopg.Connection, key: str, holder: str, run: str | None) -> None:
    got = claims.claim(conn, "A", [key], holder=holder, flow_run_id=run, lease_s=3600)
    assert got.claimed == [key]


def _expired(conn: psycopg.Connection) -> set[str]:
    return {key for _, key, _ in claims.expired(conn)}


def test_local_holder_names_host_pid_and_label() -> None:
    assert claims.local_holder("run-1:ab") == f"{socket.gethostname()}:{os.getpid()}:run-1:ab"


def test_expire_dead_local_expires_exactly_dead_processes_of_this_host(
        conn: psycopg.Connection) -> None:
    host, dead = socket.gethostname(), _dead_pid()
    holders = {
        "dead-here": f"{host}:{dead}:run-1",            # expired
        "dead-here-2": f"{host}:{dead}:run-1",          # expired (same holder, two keys)
        "dead-colon": f"{host}:{dead}:run-5:ab12",      # expired (the engine's labels have ':')
        "alive-here": f"{host}:{os.getpid()}:run-2",    # a live process: kept
        "dead-elsewhere": f"not-{host}:{dead}:run-3",   # another host: cannot tell, kept
        "no-pid": f"{host}:abc:run-4",                  # not a pid: kept
        "two-parts": f"{host}:{dead}",                  # not a local holder: kept
        "plain": "some-worker",                         # kept
    }
    for key, holder in holders.items():
        _claim(conn, key, holder, None)
    assert _expired(conn) == set()
    assert claims.expire_dead_local(conn) == 3
    assert _expired(conn) == {"dead-here", "dead-here-2", "dead-colon"}
    # Expired now means takeover: another holder gets the keys at once.
    got = claims.claim(conn, "A", list(holders), holder="new", flow_run_id="r-new")
    assert got.claimed == ["dead-here", "dead-here-2", "dead-colon"]
    assert got.taken_over == {"dead-here": f"{host}:{dead}:run-1",
                              "dead-here-2": f"{host}:{dead}:run-1",
                              "dead-colon": f"{host}:{dead}:run-5:ab12"}


def test_expire_dead_local_with_nothing_to_expire(conn: psycopg.Connection) -> None:
    assert claims.expire_dead_local(conn) == 0
    _claim(conn, "k", claims.local_holder("me"), "r")
    assert claims.expire_dead_local(conn) == 0
    assert _expired(conn) == set()


def test_expire_abandoned_expires_this_process_runs_not_executing(
        conn: psycopg.Connection) -> None:
    mine = "host-a:123:"
    _claim(conn, "running", mine + "r1:x", "r1")        # its run is still executing: kept
    _claim(conn, "abandoned", mine + "r2:y", "r2")      # expired
    _claim(conn, "abandoned-2", mine + "r3:z", "r3")    # expired
    _claim(conn, "no-run", mine + "local:w", None)      # no flow run to tell by: kept
    _claim(conn, "other", "host-a:1234:r2:y", "r2")     # another process (prefix differs)
    _claim(conn, "elsewhere", "host-b:123:r2:y", "r2")  # another host
    assert claims.expire_abandoned(conn, mine, ["r1", "r9"]) == 2
    assert _expired(conn) == {"abandoned", "abandoned-2"}
    # Already expired: not counted again.
    assert claims.expire_abandoned(conn, mine, ["r1"]) == 0
    # Nothing kept: every run of the prefix with a flow run id goes.
    assert claims.expire_abandoned(conn, mine, []) == 1
    assert _expired(conn) == {"abandoned", "abandoned-2", "running"}
