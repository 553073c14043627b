"""The database as a Prefect block: a saved `prefect-sqlalchemy` `SqlAlchemyConnector`.

    talentflow blocks database prod --url postgresql://app:s3cret@db.internal/talent
    export TALENTFLOW_DATABASE_BLOCK=prod        # every command, flow, worker and the API

The block holds the connection as components, its password a `SecretStr` (masked in the
Prefect UI, stored encrypted by the Prefect server). Named by TALENTFLOW_DATABASE_BLOCK, it is
used wherever DATABASE_URL would be, and wins over it: a deployment configured with a block
must not silently fall back to a stray environment variable.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qsl, unquote, urlsplit

from talentflow.db.engine import DatabaseUnavailable

DATABASE_BLOCK_ENV = "TALENTFLOW_DATABASE_BLOCK"
DRIVER = "postgresql+psycopg"  # psycopg 3, what alembic and SQLAlchemy users here expect


class DatabaseBlockError(DatabaseUnavailable):
    """The named block is missing or does not describe a PostgreSQL database (a database
    that cannot be reached: front doors print it as one line)."""


def block_name() -> str | None:
    return (os.environ.get(DATABASE_BLOCK_ENV) or "").strip() or None


def url_from_block(name: str) -> str:
    """The libpq-style URL (password included) of the saved SqlAlchemyConnector `name`."""
    from prefect_sqlalchemy import ConnectionComponents, SqlAlchemyConnector

    try:
        connector = SqlAlchemyConnector.load(name)
    except ValueError as exc:
        raise DatabaseBlockError(
            f"{DATABASE_BLOCK_ENV}={name!r}: no sqlalchemy-connector block of that name on "
            f"the Prefect API ({exc}); save one with `talentflow blocks database {name} "
            "--url ...`") from None
    info = connector.connection_info
    if isinstance(info, ConnectionComponents):
        url = info.create_url().render_as_string(hide_password=False)
    else:
        url = str(info)
    if not urlsplit(url).scheme.startswith("postgres"):
        raise DatabaseBlockError(f"block {name!r} points at {urlsplit(url).scheme!r}, "
                                 "not PostgreSQL")
    return url


def components_from_url(url: str):  # noqa: ANN201 - prefect_sqlalchemy is imported lazily
    """A URL as the block's ConnectionComponents (the password as a secret)."""
    from prefect_sqlalchemy import ConnectionComponents
    from pydantic import SecretStr

    parts = urlsplit(url)
    if parts.scheme.split("+", 1)[0] not in ("postgresql", "postgres"):
        raise DatabaseBlockError(f"not a PostgreSQL URL: {parts.scheme}://…")
    return ConnectionComponents(
        driver=DRIVER,
        database=unquote(parts.path.lstrip("/")) or None,
        username=unquote(parts.username) if parts.username else None,
        password=SecretStr(unquote(parts.password)) if parts.password else None,
        host=parts.hostname or None,
        port=parts.port,
        query=dict(parse_qsl(parts.query)) or None,
    )


def save_block(name: str, url: str, *, overwrite: bool = False) -> None:
    """Save `url` as the SqlAlchemyConnector block `name`."""
    from prefect_sqlalchemy import SqlAlchemyConnector

    SqlAlchemyConnector(connection_info=components_from_url(url)).save(name, overwrite=overwrite)
