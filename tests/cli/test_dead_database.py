"""A dead database is one clear line and exit code 1, never a traceback or a hang."""

from __future__ import annotations

import os
import socket
import subprocess
import sys


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends


def test_commands_report_an_unreachable_database_clearly() -> None:
    env = {**os.environ,
           "DATABASE_URL": f"postgresql://u:hunter2@127.0.0.1:{_closed_port()}/nothing"}
    for args in (["db", "upgrade"], ["status"], ["ingest", "data/jobs.jsonl"]):
        done = subprocess.run(
            [sys.executable, "-c", "from talentflow.cli import main; main()", *args],
            env=env, capture_output=True, text=True, timeout=120,
        )
        assert done.returncode == 1, (args, done.stderr)
        assert "cannot connect to PostgreSQL at postgresql://u:***@127.0.0.1" in done.stderr
        assert "hunter2" not in done.stderr and "Traceback" not in done.stderr
