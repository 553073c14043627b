"""`talentflow partitions ...`, `talentflow status` and `talentflow materialize`.

Sets and assets are declared by the project's Definitions (`TALENTFLOW_DEFINITIONS` or
`--definitions module:attr`); these commands load them when they need declarations, and work
on the registry alone when they do not (adding keys to a dynamic set needs no definitions).
"""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from talentflow.cli.common import (
    asset_of,
    connection,
    definitions,
    fail,
    print_report,
    progress_bar,
)

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
Workers = Annotated[int | None, typer.Option(
    "--workers", min=1, help="Compute batches on a local Dask cluster of N worker processes "
    "(prefect-dask).")]
DaskAddress = Annotated[str | None, typer.Option(
    "--dask-address", metavar="tcp://HOST:PORT", help="Compute batches on this Dask cluster "
    "(default $TALENTFLOW_DASK_ADDRESS, if set).")]
Svg = Annotated[Path | None, typer.Option(
    "--svg", metavar="FILE", help="Also write the status picture as SVG (calendar for time "
    "windows, a grid of two dimensions for multi keys, key order otherwise). With several "
    "assets, one file each: FILE's name gets '-<asset>'.")]
Dims = Annotated[list[str] | None, typer.Option(
    "--dim", help="Multi keys: the two dimensions the picture lays out (repeat twice).")]
Filters = Annotated[list[str] | None, typer.Option(
    "--where", metavar="DIM=VALUE", help="Multi keys: only keys with this value (repeatable).")]


def _connection():
    return connection("the partition tables are missing")



def _declared_sets() -> dict:
    """Sets the definitions declare; none when there are no definitions (registry only)."""
    from talentflow.engine.definitions import DefinitionsNotFound, load_definitions

    try:
        return load_definitions().sets()
    except DefinitionsNotFound:
        return {}


def _read_keys(keys: list[str], file: Path | None) -> list[str]:
    out = list(keys)
    if file is not None:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
        # One key per line, verbatim except the line ending; blank lines are skipped.
        out.extend(line.rstrip("\r") for line in text.split("\n") if line.rstrip("\r"))
    return out


def _set_for(name: str):  # -> PartitionSet | None
    return _declared_sets().get(name)


@app.command("add")
def add(
    set_name: str = typer.Argument(..., metavar="SET", help="A dynamic partition set."),
    keys: list[str] = typer.Argument(None, metavar="KEY...", help="Keys to add."),
    file: Path = typer.Option(None, "--file", "-f", help="More keys, one per line ('-': stdin)."),
) -> None:
    """Register keys in a dynamic set (idempotent; reports how many were new)."""
    from talentflow.partitions import InvalidPartitionKey, registry
    from talentflow.partitions.sets import DynamicPartitions

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
    from talentflow.partitions import registry

    with _connection() as conn:
        stored = dict(registry.list_sets(conn))
    declared = _declared_sets()
    for name in sorted(set(stored) | set(declared)):
        kind = declared[name].kind if name in declared else "dynamic (undeclared)"
        count = f"{stored[name]} keys" if name in stored else ""
        typer.echo(f"{name}\t{kind}\t{count}".rstrip())


def _print_asset_status(asset, rows, limit: int, states: set[str],
                        keep_for_picture: list | None = None) -> None:
    """Print counts, then up to `limit` keys in `states`, reading `rows` once: a million
    statuses stream by; only the shown ones (and, for a picture, key and state) are kept."""
    tally = {s: 0 for s in _STATE_ORDER}
    shown: list = []
    more = 0
    for r in rows:
        tally[r.status] += 1
        if keep_for_picture is not None:
            keep_for_picture.append(r._replace(reasons=()))
        if r.status in states:
            if len(shown) < limit:
                shown.append(r)
            else:
                more += 1
    kind = "source asset" if asset.source else "asset"
    typer.echo(f"{asset.name}  ({kind} over {asset.partitions.kind} set "
               f"{asset.partitions.name!r}, {sum(tally.values())} keys)")
    typer.echo("  " + "  ".join(f"{s} {tally[s]}" for s in _STATE_ORDER))
    for r in shown:
        typer.echo(f"  {r.status:<7} {r.key!r}: {r.describe()}")
    if more:
        typer.echo(f"  … {more} more (raise --limit)")


def _observe(conn, defs) -> None:
    from talentflow.engine.run import observe_all

    observe_all(conn, [a for a in defs.assets if a.source], defs.resource_values)


@app.command("status")
def asset_status(
    asset_name: str = typer.Argument(..., metavar="ASSET"),
    limit: Limit = 20,
    state: States = None,
    one_hop: OneHop = False,
    observe: Observe = True,
    svg: Svg = None,
    dim: Dims = None,
    where: Filters = None,
) -> None:
    """Counts by status of one asset's partitions, and the keys needing work with reasons."""
    from talentflow.partitions.status import iter_status

    defs = definitions()
    asset = asset_of(defs, asset_name)
    picture: list | None = [] if svg is not None else None
    with _connection() as conn:
        if observe:
            _observe(conn, defs)
        _print_asset_status(asset, iter_status(conn, asset, propagate=not one_hop), limit,
                            set(state or ("stale", "failed")), picture)
    if svg is not None:
        _write_picture(asset, picture, svg, dim, where)


def _write_picture(asset, rows, path: Path, dims: list[str] | None,
                   where: list[str] | None) -> None:
    from talentflow.partitions.picture import status_picture

    filters = {}
    for item in where or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise fail(f"--where takes DIM=VALUE, got {item!r}", 2)
        filters[name] = value
    if dims and len(dims) != 2:
        raise fail("--dim takes two dimensions (repeat it twice)", 2)
    try:
        picture = status_picture(asset.partitions, rows, title=asset.name, dims=dims,
                                 filters=filters)
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(picture, encoding="utf-8")
    typer.echo(f"status picture of {asset.name}: {path}")


def status_all(
    names: list[str] = typer.Argument(None, metavar="[ASSET]...",
                                      help="Assets to show (default all)."),
    limit: Limit = 20,
    state: States = None,
    one_hop: OneHop = False,
    observe: Observe = True,
    svg: Svg = None,
    dim: Dims = None,
    where: Filters = None,
) -> None:
    """Every declared asset (or the named ones): counts by status, stale and failed keys with
    reasons; `--svg FILE` also writes the status picture."""
    from talentflow.partitions.status import iter_status_all

    defs = definitions()
    assets = [asset_of(defs, n) for n in names] if names else defs.assets
    if not assets:
        raise fail("the definitions declare no assets")
    shown = {a.name for a in assets}
    pictured = [a for a in assets if not a.source]
    pictures: dict[str, list] = {}
    with _connection() as conn:
        if observe:
            _observe(conn, defs)
        upstream_first = defs.select([a.name for a in assets], upstream=not one_hop)
        printed = 0
        for asset, rows in iter_status_all(conn, upstream_first, propagate=not one_hop):
            if asset.name not in shown:
                continue  # an upstream read for propagation; its stale keys are kept
            if printed:
                typer.echo("")
            printed += 1
            picture = pictures.setdefault(asset.name, []) if (
                svg is not None and asset in pictured) else None
            _print_asset_status(asset, rows, limit, set(state or ("stale", "failed")),
                                picture)
    if svg is not None:
        for asset in pictured:
            path = svg if len(pictured) == 1 else svg.with_name(
                f"{svg.stem}-{asset.name}{svg.suffix or '.svg'}")
            _write_picture(asset, pictures[asset.name], path, dim, where)


def run_selection(defs, names: list[str] | None, *, keys: list[str] | None = None,
                  start: str | None = None, end: str | None = None, prefix: str | None = None,
                  partition_set: str | None = None,
                  only: tuple[str, ...] = ("missing", "stale", "failed"),
                  upstream: bool = False, downstream: bool = False, as_json: bool = False,
                  workers: int | None = None, dask_address: str | None = None) -> None:
    """Run the materialize flow over a selection and print what it did; exit 1 if any key
    failed, 2 for an invalid key or selection."""
    from talentflow.engine import materialize
    from talentflow.engine.definitions import UnknownAsset
    from talentflow.partitions import InvalidPartitionKey

    try:
        with nullcontext() if as_json else progress_bar():
            report = materialize(defs, names, keys=keys or None, key_from=start, key_to=end,
                                 prefix=prefix, partition_set=partition_set, only=only,
                                 upstream=upstream, downstream=downstream, workers=workers,
                                 dask_address=dask_address)
    except (InvalidPartitionKey, UnknownAsset, ValueError) as exc:
        raise fail(str(exc), 2) from None
    print_report(report, as_json=as_json)
    if not report.ok:
        raise typer.Exit(1)


def _states(missing: bool, stale: bool, failed: bool) -> tuple[str, ...]:
    chosen = tuple(s for s, on in (("missing", missing), ("stale", stale), ("failed", failed))
                   if on)
    return chosen or ("missing", "stale", "failed")


def materialize(
    assets: list[str] = typer.Argument(None, metavar="[ASSET]...",
                                       help="Assets (default all); `+x` adds x's upstream, "
                                       "`x+` its downstream."),
    partition: list[str] = typer.Option(None, "--partition", "-p", help="Key (repeatable)."),
    start: str = typer.Option(None, "--from", help="Keys from this one (byte order; windows "
                              "of a time set in time order)."),
    end: str = typer.Option(None, "--to", help="Keys up to this one, inclusive."),
    prefix: str = typer.Option(None, "--prefix", help="Keys starting with this."),
    partition_set: str = typer.Option(None, "--set", help="The partition set the keys belong "
                                      "to, when the selected assets use several."),
    missing: bool = typer.Option(False, "--missing", help="Only keys never materialized."),
    stale: bool = typer.Option(False, "--stale", help="Only keys whose code or input changed."),
    failed: bool = typer.Option(False, "--failed", help="Only keys whose last run failed."),
    upstream: bool = typer.Option(False, "--upstream", help="Also the assets upstream."),
    downstream: bool = typer.Option(False, "--downstream", help="Also the assets downstream."),
    as_json: bool = typer.Option(False, "--json", help="Print the run report as JSON."),
    workers: Workers = None,
    dask_address: DaskAddress = None,
) -> None:
    """Bring partitions up to date in one Prefect flow run (`materialize`): plan from the bulk
    status, claim, compute in batches, record. Default: every missing, stale or failed key of
    the selected assets. Keys are checked before anything runs.

    Examples: `talentflow materialize normalized_candidates -p c-00007`,
    `talentflow materialize +candidate_matches --failed`.
    """
    run_selection(definitions(), list(assets) or None, keys=list(partition or []),
                  start=start, end=end, prefix=prefix, partition_set=partition_set,
                  only=_states(missing, stale, failed),
                  upstream=upstream, downstream=downstream, as_json=as_json,
                  workers=workers, dask_address=dask_address)


def register_top_level(root: typer.Typer) -> None:
    """Add `status` and `materialize` to the root command."""
    root.command("status")(status_all)
    root.command("materialize")(materialize)
