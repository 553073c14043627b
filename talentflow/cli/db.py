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

    The engine's tables, then the project's own: the migration folders its Definitions name
    (`Definitions(migrations=[...])`; the talent application's: candidates, jobs, vectors,
    match lists, sensor cursors, LLM costs). A project without tables of its own, or
    `--engine-only`, gets the engine's alone.
    """
    from talentflow.db import migrate
    from talentflow.engine.definitions import DefinitionsNotFound, load_definitions

    locations: list | None = []
    if not engine_only:
        try:
            locations = load_definitions().migrations
        except DefinitionsNotFound:
            typer.echo("no definitions found: migrating the engine's tables only", err=True)
    try:
        before, after = migrate.upgrade(locations)
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
