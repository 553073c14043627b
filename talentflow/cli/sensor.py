"""`talentflow sensor ...`: run the new-rows sensor once, or show where its cursors are."""

from __future__ import annotations

import json

import typer

app = typer.Typer(
    help="The new-rows sensor: source rows -> partition keys -> events.", no_args_is_help=True
)


@app.command()
def tick(
    burst: int = typer.Option(
        None, "--burst", help="Rows above which one batch run replaces per-key events "
        "(default: TALENTFLOW_SENSOR_BURST or 50).",
    ),
) -> None:
    """Run the sensor once and print what it did as JSON.

    With PREFECT_API_URL set it emits one event per new or changed row (deployment triggers
    then run the pipelines); without a Prefect server it processes the rows it found in one
    direct `talent_batch` run, because nothing would receive the events.
    """
    from flows.sensors import tick as sensor_tick

    typer.echo(json.dumps(sensor_tick(burst=burst), indent=2))


@app.command()
def status() -> None:
    """Each source table's cursor and how many rows changed since it (JSON)."""
    from flows.sensors import cursors

    typer.echo(json.dumps(cursors(), indent=2))
