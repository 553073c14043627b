"""Assembles the command groups. Keep this file a list of registrations."""

from __future__ import annotations

import typer

from talentflow.cli import api as api_command
from talentflow.cli import automation as automation_commands
from talentflow.cli import backfill as backfill_command
from talentflow.cli import blocks as block_commands
from talentflow.cli import checks as check_commands
from talentflow.cli import costs as cost_commands
from talentflow.cli import data as data_commands
from talentflow.cli import db as db_commands
from talentflow.cli import demo as demo_command
from talentflow.cli import matches as matches_command
from talentflow.cli import partitions as partition_commands
from talentflow.cli import sensor as sensor_commands
from talentflow.cli import serve as serve_command

app = typer.Typer(
    help="talentflow: partitioned, incremental, staleness-aware assets on Prefect, "
    "and the talent-matching pipeline built on them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    definitions: str = typer.Option(
        None, "--definitions", "-d", metavar="MODULE[:ATTR]",
        help="The Definitions object to work on (default $TALENTFLOW_DEFINITIONS, else "
        "tasks.definitions:defs, the talent project).",
    ),
) -> None:
    if definitions:
        import os

        os.environ["TALENTFLOW_DEFINITIONS"] = definitions
app.add_typer(db_commands.app, name="db")
app.add_typer(block_commands.app, name="blocks")
app.add_typer(cost_commands.app, name="costs")
app.command("generate")(data_commands.generate)
app.command("matches")(matches_command.matches)
app.command("ingest")(data_commands.ingest)
app.add_typer(partition_commands.app, name="partitions")
partition_commands.register_top_level(app)
app.command("demo")(demo_command.demo)
app.add_typer(sensor_commands.app, name="sensor")
app.command("serve")(serve_command.serve)
app.command("health")(serve_command.health_check)
app.command("api")(api_command.api)
app.command("backfill")(backfill_command.backfill)
app.add_typer(check_commands.app, name="checks")
app.add_typer(automation_commands.app, name="automation")
app.command("reconcile")(automation_commands.reconcile)
