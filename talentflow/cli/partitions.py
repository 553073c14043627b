"""`talentflow partitions ...`, `talentflow status` and `talentflow materialize`.

Sets and assets are declared by the application (see talentflow.partitions.catalog); these
commands load the definitions module first when they need declarations, and work on the
registry alone when they do not (adding keys to a dynamic set needs no definitions).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from talentflow.cli.common import connection, fail

app = typer.Typer(
    help="Partition sets and keys: add, list and delete keys; status of an asset's partitions.",
    no_args_is_help=True,
)

# Options shared by `partitions status ASSET` and `status`.
Limit = Annotated[int, typer.Option("--limit", min=0, help="Keys listed per asset.")]
States = Annotated[list[str] | None, typer.Option(
    "--state", help="List keys in these states (default: stale, failed).")]
OneHop = Annotated[bool, typer.Option(
    "--one-hop", help="Only direct staleness (do not follow stale upstreams).")]
Observe = Annotated[bool, typer.Option(
    "--observe/--no-observe",
    help="First read source assets that have an observer (e.g. edited rows), so what an edit "
    "made stale shows before anything re-runs.")]

_STATE_ORDER = ("materialized", "stale", "failed", "missing", "running")


def _connection():
    return connection("the partition tables are missing")



def _load_definitions(required: bool) -> None:
    from talentflow.partitions import catalog

    try:
        catalog.load_definitions()
    except catalog.DefinitionsNotFound as exc:
        if required:
            raise fail(str(exc)) from None


def _read_keys(keys: list[str], file: Path | None) -> list[str]:
    out = list(keys)
    if file is not None:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
        # One key per line, verbatim except the line ending; blank lines are skipped.
        out.extend(line.rstrip("\r") for line in text.split("\n") if line.rstrip("\r"))
    return out


def _set_for(name: str):  # -> PartitionSet | None
    from talentflow.partitions import catalog

    return catalog.sets().get(name)


@app.command("add")
def add(
    set_name: str = typer.Argument(..., metavar="SET", help="A dynamic partition set."),
    keys: list[str] = typer.Argument(None, metavar="KEY...", help="Keys to add."),
    file: Path = typer.Option(None, "--file", "-f", help="More keys, one per line ('-': stdin)."),
) -> None:
    """Register keys in a dynamic set (idempotent; reports how many were new)."""
    from talentflow.partitions import InvalidPartitionKey, registry
    from talentflow.partitions.sets import DynamicPartitions

    _load_definitions(required=False)
    declared = _set_for(set_name)
    if declared is not None and not isinstance(declared, DynamicPartitions):
        raise fail(f"set {set_name!r} is a {declared.kind} set: its keys are declared in code")
    batch = _read_keys(keys or [], file)
    if not batch:
        raise fail("no keys given (pass KEY... or --file)", 2)
    with _connection() as conn:
        try:
            added = registry.add_keys(conn, set_name, batch)
        except InvalidPartitionKey as exc:
            raise fail(str(exc), 2) from None
        total = registry.count_keys(conn, set_name)
    typer.echo(f"{set_name}: {added} new key(s), {len(set(batch)) - added} already there, "
               f"{total} in total")


@app.command("list")
def list_(
    set_name: str = typer.Argument(..., metavar="SET"),
    prefix: str = typer.Option(None, "--prefix", help="Only keys starting with this."),
    limit: int = typer.Option(100, "--limit", min=1, help="Keys per page."),
    after: str = typer.Option(None, "--after", help="Keys after this one (the next page)."),
    as_json: bool = typer.Option(False, "--json", help="A JSON list (keys with newlines)."),
) -> None:
    """Keys of a set in byte order, a page at a time."""
    from talentflow.partitions import registry
    from talentflow.partitions.sets import DynamicPartitions

    _load_definitions(required=False)
    declared = _set_for(set_name)
    if declared is not None and not isinstance(declared, DynamicPartitions):
        with _connection() as conn:
            every = declared.keys(conn)
        every = [k for k in every if (not prefix or k.startswith(prefix))]
        start = every.index(after) + 1 if after in every else 0
        page = every[start:start + limit]
    else:
        with _connection() as conn:
            page = registry.list_keys(conn, set_name, prefix=prefix, after=after, limit=limit)
    if as_json:
        typer.echo(json.dumps(page, ensure_ascii=False))
    else:
        for key in page:
            typer.echo(key)
    if len(page) == limit:
        typer.echo(f"(more: --after {json.dumps(page[-1], ensure_ascii=False)})", err=True)


@app.command("delete")
def delete(
    set_name: str = typer.Argument(..., metavar="SET"),
    keys: list[str] = typer.Argument(None, metavar="KEY..."),
    file: Path = typer.Option(None, "--file", "-f", help="More keys, one per line ('-': stdin)."),
) -> None:
    """Remove keys from a dynamic set; their materializations stay as history (orphaned)."""
    from talentflow.partitions import InvalidPartitionKey, registry

    _load_definitions(required=False)
    batch = _read_keys(keys or [], file)
    if not batch:
        raise fail("no keys given (pass KEY... or --file)", 2)
    with _connection() as conn:
        try:
            gone = registry.delete_keys(conn, set_name, batch)
        except InvalidPartitionKey as exc:
            raise fail(str(exc), 2) from None
    typer.echo(f"{set_name}: {gone} key(s) deleted, {len(set(batch)) - gone} were not there")


@app.command("sets")
def sets_() -> None:
    """Dynamic sets in the database and sets declared by the application."""
    from talentflow.partitions import catalog, registry

    _load_definitions(required=False)
    with _connection() as conn:
        stored = dict(registry.list_sets(conn))
    declared = catalog.sets()
    for name in sorted(set(stored) | set(declared)):
        kind = declared[name].kind if name in declared else "dynamic (undeclared)"
        count = f"{stored[name]} keys" if name in stored else ""
        typer.echo(f"{name}\t{kind}\t{count}".rstrip())


def _print_asset_status(asset, rows, limit: int, states: set[str]) -> None:
    tally = {s: 0 for s in _STATE_ORDER}
    for r in rows:
        tally[r.status] += 1
    kind = "source asset" if asset.source else "asset"
    typer.echo(f"{asset.name}  ({kind} over {asset.partitions.kind} set "
               f"{asset.partitions.name!r}, {len(rows)} keys)")
    typer.echo("  " + "  ".join(f"{s} {tally[s]}" for s in _STATE_ORDER))
    shown = 0
    for r in rows:
        if r.status not in states:
            continue
        if shown == limit:
            rest = sum(1 for x in rows if x.status in states) - shown
            typer.echo(f"  … {rest} more (raise --limit)")
            break
        typer.echo(f"  {r.status:<7} {r.key!r}: {'; '.join(r.reasons) or r.status}")
        shown += 1


@app.command("status")
def asset_status(
    asset_name: str = typer.Argument(..., metavar="ASSET"),
    limit: Limit = 20,
    state: States = None,
    one_hop: OneHop = False,
    observe: Observe = True,
) -> None:
    """Counts by status of one asset's partitions, and the keys needing work with reasons."""
    from talentflow.partitions import catalog

    _load_definitions(required=True)
    try:
        asset = catalog.get_asset(asset_name)
    except KeyError as exc:
        raise fail(str(exc.args[0])) from None
    from talentflow.partitions.observation import observe_sources
    from talentflow.partitions.status import status

    with _connection() as conn:
        if observe:
            observe_sources(conn, catalog.all_assets())
        rows = status(conn, asset, propagate=not one_hop)
    _print_asset_status(asset, rows, limit, set(state or ("stale", "failed")))


def status_all(
    limit: Limit = 20,
    state: States = None,
    one_hop: OneHop = False,
    observe: Observe = True,
) -> None:
    """Every declared asset: counts by status, and stale and failed keys with reasons."""
    from talentflow.partitions import catalog

    _load_definitions(required=True)
    assets = catalog.all_assets()
    if not assets:
        raise fail(f"no assets registered by {catalog.definitions_module()!r}")
    from talentflow.partitions.observation import observe_sources
    from talentflow.partitions.status import status_all

    with _connection() as conn:
        if observe:
            observe_sources(conn, assets)
        by_asset = status_all(conn, assets, propagate=not one_hop)
    for i, asset in enumerate(assets):
        if i:
            typer.echo("")
        _print_asset_status(asset, by_asset[asset.name], limit, set(state or ("stale", "failed")))


def materialize(
    asset_name: str = typer.Argument(..., metavar="ASSET"),
    partition: list[str] = typer.Option(..., "--partition", "-p", help="Key (repeatable)."),
) -> None:
    """Materialize partitions of an asset through the runner the application registered."""
    from talentflow.partitions import InvalidPartitionKey, catalog
    from talentflow.partitions.status import status

    _load_definitions(required=True)
    try:
        asset = catalog.get_asset(asset_name)
    except KeyError as exc:
        raise fail(str(exc.args[0])) from None
    if asset.runner is None:
        raise fail(
            f"asset {asset.name!r} has no runner: the application materializes it in its own "
            "flows (set Asset(..., runner=fn) to enable `talentflow materialize`)"
        )
    with _connection() as conn:
        try:
            for key in partition:
                asset.partitions.validate(key, conn=conn)
        except InvalidPartitionKey as exc:
            raise fail(str(exc), 2) from None
    asset.runner(list(partition))
    with _connection() as conn:
        for s in status(conn, asset, list(partition)):
            typer.echo(f"{asset.name}[{s.key!r}]: {s.status}"
                       + (f" ({'; '.join(s.reasons)})" if s.reasons else ""))


def register_top_level(root: typer.Typer) -> None:
    """Add `status` and `materialize` to the root command."""
    root.command("status")(status_all)
    root.command("materialize")(materialize)
