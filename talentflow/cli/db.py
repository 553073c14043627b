"""`talentflow db ...`: the database the project runs on."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="The project's PostgreSQL: migrate it, show where it is.", no_args_is_help=True
)


@app.command()
def upgrade() -> None:
    """Apply alembic migrations up to head (starts the embedded server if needed)."""
    from talentflow.db import migrate

    before, after = migrate.upgrade()
    if before == after:
        typer.echo(f"schema already at {after}")
    else:
        typer.echo(f"schema upgraded {before or 'empty'} -> {after}")


@app.command()
def url() -> None:
    """Print the database URL in use (password hidden)."""
    from talentflow.db.engine import database_url, describe

    typer.echo(describe(database_url()))
