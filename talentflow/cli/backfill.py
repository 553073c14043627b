"""`talentflow backfill`: a materialize run over a selection of keys of a set or an asset."""

from __future__ import annotations

import typer

from talentflow.cli.common import connection, definitions, fail
from talentflow.cli.partitions import DaskAddress, Workers, _states, run_selection


def backfill(
    target: str = typer.Argument(..., metavar="{ASSET|SET}",
                                 help="An asset, or a partition set (every asset over it)."),
    keys: list[str] = typer.Argument(None, metavar="[KEY]...", help="Explicit keys."),
    prefix: str = typer.Option(None, "--prefix", help="Keys starting with this."),
    start: str = typer.Option(None, "--from", help="Keys >= this (byte order; time order for "
                              "time windows)."),
    end: str = typer.Option(None, "--to", help="Keys <= this."),
    missing: bool = typer.Option(False, "--missing", help="Only keys never materialized."),
    stale: bool = typer.Option(False, "--stale", help="Only keys whose code or input changed."),
    failed: bool = typer.Option(False, "--failed", help="Only keys whose last run failed."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would run, run nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the run report as JSON."),
    workers: Workers = None,
    dask_address: DaskAddress = None,
) -> None:
    """Run a selection of partitions — and what depends on them downstream — in ONE Prefect
    flow run (`materialize`). Up-to-date keys are skipped; each key succeeds or fails alone;
    failures are listed with their reasons and make the exit code 1.

    Examples: `talentflow backfill candidates --failed`,
    `talentflow backfill jobs --from j-00100 --to j-00199 --stale`,
    `talentflow backfill candidates c-00001 c-00002`.
    """
    if keys and (prefix or start or end):
        raise fail("give explicit keys or a --prefix/--from/--to range, not both", 2)
    defs = definitions()
    if target in defs:
        names, set_name = [target], defs.get(target).partitions.name
    else:
        set_name = target
        names = [a.name for a in defs.assets if a.partitions.name == target]
        if not names:
            raise fail(f"{target!r} is neither an asset nor a partition set of these "
                       f"definitions (sets: {sorted(defs.sets())})", 2)
    only = _states(missing, stale, failed)
    if dry_run:
        _dry_run(defs, names, set_name, keys, prefix, start, end, only)
        return
    run_selection(defs, names, keys=list(keys or []), start=start, end=end, prefix=prefix,
                  partition_set=set_name, only=only, downstream=True, as_json=as_json,
                  workers=workers, dask_address=dask_address)


def _dry_run(defs, names, set_name, keys, prefix, start, end, only) -> None:
    from talentflow.engine.flow import _selection, pending
    from talentflow.engine.run import root_keys
    from talentflow.partitions import InvalidPartitionKey

    bound = defs.bind()
    selected = bound.select(names, downstream=True)
    sel = _selection(None, keys, start, end, prefix, set_name, only)
    with connection("the partition tables are missing") as conn:
        try:
            if sel.narrowed:
                _, chosen = root_keys(conn, [a for a in selected if not a.source], sel)
                shown = ", ".join(chosen[:5]) + (", …" if len(chosen) > 5 else "")
                typer.echo(f"selection: {len(chosen)} key(s): {shown}")
        except (InvalidPartitionKey, ValueError) as exc:
            raise fail(str(exc), 2) from None
    todo = pending(bound, selected, sel)
    if not todo:
        typer.echo("nothing to backfill: every selected partition is up to date")
    for name, n in todo.items():
        typer.echo(f"  would run {name}: {n} key(s)")
