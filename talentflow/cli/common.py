"""What every command group needs: a clear exit on error, a connection that explains itself."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import typer


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print `message` to stderr; raise the returned Exit to stop with `code`."""
    typer.echo(message, err=True)
    return typer.Exit(code)


@contextmanager
def connection(missing: str) -> Iterator[psycopg.Connection]:
    """A database connection; an unreachable database or a missing table (`missing` names
    what is missing) ends the command with a one-line message instead of a traceback."""
    from talentflow.db import connect
    from talentflow.db.engine import DatabaseUnavailable

    try:
        with connect() as conn:
            yield conn
    except DatabaseUnavailable as exc:
        raise fail(str(exc)) from None
    except psycopg.errors.UndefinedTable as exc:
        raise fail(f"{missing} ({str(exc).splitlines()[0]}): run `talentflow db upgrade`"
                   ) from None
