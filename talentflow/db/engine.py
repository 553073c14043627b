"""Connections to the project's PostgreSQL: `DATABASE_URL` or the embedded server.

psycopg 3 is used directly (COPY, server-side arrays, pgvector adapters); SQLAlchemy only serves
alembic migrations. Connecting over the embedded server's unix socket costs ~5 ms, so callers
open one connection per unit of work (a batch, a request), not per row.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from urllib.parse import urlsplit, urlunsplit

import psycopg
from pgvector.psycopg import register_vector

from talentflow import config
from talentflow.db import embedded


class DatabaseUnavailable(RuntimeError):
    """The database could not be reached; the message says which one and why."""


@cache
def database_url() -> str:
    """libpq URL of the project database (resolved once per process)."""
    override = config.database_url_override()
    if override:
        return _strip_driver(override)
    return embedded.start(config.state_dir())


def sqlalchemy_url() -> str:
    """The same database as a SQLAlchemy URL using the psycopg 3 driver (for alembic)."""
    scheme, rest = database_url().split("://", 1)
    return f"postgresql+psycopg://{rest}"


def _strip_driver(url: str) -> str:
    # Accept SQLAlchemy-style URLs (postgresql+psycopg://...) as well as plain libpq ones.
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme == "postgres":
        scheme = "postgresql"
    return urlunsplit((scheme, *parts[1:]))


def describe(url: str) -> str:
    """The URL without its password, for error messages and logs."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        creds, host = netloc.rsplit("@", 1)
        netloc = f"{creds.split(':', 1)[0]}:***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def open_connection(*, autocommit: bool = False) -> psycopg.Connection:
    """A new connection to the project database; DatabaseUnavailable (a clear message, the
    password hidden) if it cannot be reached. The caller closes it."""
    url = database_url()
    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(
            f"cannot connect to PostgreSQL at {describe(url)}: {str(exc).strip()}"
        ) from exc


@contextmanager
def connect(*, autocommit: bool = False, vector: bool = True) -> Iterator[psycopg.Connection]:
    """A psycopg connection to the project database; commits on success, rolls back on error."""
    conn = open_connection(autocommit=autocommit)
    try:
        if vector:
            try:
                register_vector(conn)
            except psycopg.ProgrammingError:
                # The extension is created by the first migration; before it, plain SQL works.
                conn.rollback()
        yield conn
        if not autocommit:
            conn.commit()
    except BaseException:
        if not autocommit and not conn.closed:
            conn.rollback()
        raise
    finally:
        conn.close()


@cache
def _identity(url: str) -> str:
    with psycopg.connect(url, connect_timeout=10) as conn:
        system_id, name = conn.execute(
            "SELECT system_identifier::text, current_database() FROM pg_control_system()"
        ).fetchone()
    return f"{system_id}/{name}"


def database_identity() -> str:
    """Which database this is (cluster system identifier + database name), not where it is.

    Part of every Prefect cache key: results are cached per database, so a cache hit can never
    skip a write into a *different* database that happens to hold the same rows.
    """
    return _identity(database_url())
