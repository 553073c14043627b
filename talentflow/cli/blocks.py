"""`talentflow blocks ...`: the Prefect block types the project reads, and the database block."""

from __future__ import annotations

import typer

from talentflow.cli.common import fail

app = typer.Typer(help="Prefect blocks: register talentflow's block types, save the database "
                  "as a block.", no_args_is_help=True)


@app.command("register")
def register() -> None:
    """Register the block types with the Prefect API (talentflow-llm, talentflow-embedder and
    prefect-sqlalchemy's sqlalchemy-connector), so they can be created in the Prefect UI."""
    from prefect_sqlalchemy import SqlAlchemyConnector

    from blocks.embedder import EmbedderConfig
    from blocks.llm import LLMConfig

    for block_type in (LLMConfig, EmbedderConfig, SqlAlchemyConnector):
        block_type.register_type_and_schema()
        typer.echo(f"registered block type {block_type.get_block_type_slug()}")


@app.command("database")
def database(
    name: str = typer.Argument(..., help="Block name (then TALENTFLOW_DATABASE_BLOCK=NAME)."),
    url: str = typer.Option(None, "--url", help="postgresql://user:password@host:port/db "
                            "(default: the database in use now)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a block of that name."),
) -> None:
    """Save a PostgreSQL database as a `SqlAlchemyConnector` block (password as a secret)."""
    from talentflow.db.block import DATABASE_BLOCK_ENV, DatabaseBlockError, save_block
    from talentflow.db.engine import database_url, describe

    target = url or database_url()
    try:
        save_block(name, target, overwrite=overwrite)
    except DatabaseBlockError as exc:
        raise fail(str(exc), 2) from None
    except ValueError as exc:
        if "already" in str(exc):  # Prefect: a block of that name exists
            raise fail(f"{exc} (--overwrite replaces it)", 1) from None
        raise fail(f"not a usable database URL: {exc}", 2) from None
    typer.echo(f"saved sqlalchemy-connector/{name} for {describe(target)}; use it with "
               f"{DATABASE_BLOCK_ENV}={name}")
