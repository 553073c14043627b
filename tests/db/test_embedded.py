"""The embedded PostgreSQL: two processes starting it at once share one server, and its data
directory is reused across runs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import psycopg

START = textwrap.dedent("""
    import sys
    from pathlib import Path
    import psycopg
    from talentflow.db import embedded
    url = embedded.start(Path(sys.argv[1]))
    with psycopg.connect(url) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(42)")  # IF NOT EXISTS is racy by itself
        conn.execute("CREATE TABLE IF NOT EXISTS seen (pid int)")
        conn.execute("INSERT INTO seen VALUES (pg_backend_pid())")
    print(url)
""")


def _start_in_subprocesses(state: Path, n: int) -> list[str]:
    procs = [
        subprocess.Popen([sys.executable, "-c", START, str(state)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(n)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    return [out.strip().splitlines()[-1] for out, _err in outs]


def test_two_processes_starting_at_once_share_one_server(tmp_path: Path) -> None:
    urls = _start_in_subprocesses(tmp_path, 2)
    assert urls[0] == urls[1]
    # the last process out stopped the server: no postmaster is left running
    assert not (tmp_path / "pgdata" / "postmaster.pid").exists()
    # Both processes have exited: the last one out stopped the server cleanly, and the data
    # directory is reused by the next start, rows included.
    again = _start_in_subprocesses(tmp_path, 1)[0]
    assert again == urls[0]
    assert (tmp_path / "pgdata" / "PG_VERSION").exists()
    from talentflow.db import embedded

    with psycopg.connect(embedded.start(tmp_path)) as conn:
        assert conn.execute("SELECT count(*) FROM seen").fetchone()[0] == 3
