"""`talentflow db ...`: the database the project runs on."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="The project's PostgreSQL: migrate it, show where it is.", no_args_is_help=True
)


@app.command()
def upgrade(
    engine_only: bool = typer.Option(
        False,
        "--engine-only",
        help="Only the engine's own tables (partitions, materializations, claims, value store): "
        "for a project without the talent application's tables.",
    ),
) -> None:
    """Apply alembic migrations up to head (starts the embedded server if needed).

    By default both branches: the engine's tables and the talent application's
    (migrations/versions: candidates, jobs, vectors, matches, sensor cursors, LLM costs).
    """
    from talentflow.db import migrate

    try:
        before, after = migrate.upgrade([] if engine_only else None)
    except migrate.UnknownRevision as exc:
        typer.echo(f"talentflow: {exc}", err=True)
        raise typer.Exit(1) from None
    if before == after:
        typer.echo(f"schema already at {after}")
    else:
        typer.echo(f"schema upgraded {before or 'empty'} -> {after}")


@app.command()
def url() -> None:
    """Print the database URL in use (password hidden)."""
    from talentflow.db.engine import database_url, describe

    typer.echo(describe(database_url()))
