"""`talentflow backfill`: run a selection of one side's partitions in one batch flow run."""

from __future__ import annotations

import typer

from talentflow.cli.common import connection, fail

SIDES = {"candidates": "candidate", "jobs": "job"}


def select_keys(conn, side: str, *, keys: list[str], prefix: str | None, start: str | None,
                end: str | None, states: set[str]) -> list[str]:
    """Explicit keys, or the registered keys in a prefix / byte range, filtered by the status
    of the side's last asset (its matches: stale there means some step of the key is stale)."""
    from talentflow.partitions import catalog, registry
    from talentflow.partitions.observation import observe_sources
    from talentflow.partitions.status import status

    observe_sources(conn, catalog.all_assets())  # new and edited rows count
    if keys:
        return list(dict.fromkeys(keys))
    selected = [
        k for k in registry.all_keys(conn, side)
        if (prefix is None or k.startswith(prefix))
        and (start is None or k >= start) and (end is None or k <= end)
    ]
    if states:
        final = catalog.get_asset(f"{SIDES[side]}_matches")
        selected = [s.key for s in status(conn, final, selected, propagate=True)
                    if s.status in states]
    return selected


def backfill(
    side: str = typer.Argument(..., metavar="{candidates|jobs}", help="Which partition set."),
    keys: list[str] = typer.Argument(None, metavar="[KEY]...", help="Explicit keys."),
    prefix: str = typer.Option(None, "--prefix", help="Registered keys starting with this."),
    start: str = typer.Option(None, "--from", help="Registered keys >= this (byte order)."),
    end: str = typer.Option(None, "--to", help="Registered keys <= this (byte order)."),
    missing: bool = typer.Option(False, "--missing", help="Only keys never materialized."),
    stale: bool = typer.Option(False, "--stale", help="Only keys whose code or input changed."),
    failed: bool = typer.Option(False, "--failed", help="Only keys whose last run failed."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the selection, run nothing."),
) -> None:
    """Run normalize -> embed -> match over a selection of keys in ONE Prefect flow run
    (talent-batch). Steps that are already up to date for a key are skipped; each key
    succeeds or fails alone, and failures are listed with their reasons.

    Examples: `talentflow backfill candidates --failed`,
    `talentflow backfill jobs --from j-00100 --to j-00199 --stale`,
    `talentflow backfill candidates c-00001 c-00002`.
    """
    if side not in SIDES:
        raise fail(f"unknown partition set {side!r}; choose one of {sorted(SIDES)}", 2)
    if keys and (prefix or start or end):
        raise fail("give explicit keys or a --prefix/--from/--to range, not both", 2)
    from talentflow.partitions import InvalidPartitionKey, catalog

    catalog.load_definitions()
    states = {s for s, on in (("missing", missing), ("stale", stale), ("failed", failed)) if on}
    with connection("the partition tables are missing") as conn:
        selected = select_keys(conn, side, keys=keys or [], prefix=prefix, start=start,
                               end=end, states=states)
    what = f"{len(selected)} {side} key(s)" + (f" ({', '.join(sorted(states))})" if states else "")
    if not selected:
        typer.echo(f"nothing to backfill: {what}")
        return
    typer.echo(f"backfill {what}: {', '.join(selected[:5])}{', …' if len(selected) > 5 else ''}")
    if dry_run:
        return
    from flows.batch import talent_batch

    ids = {"candidate_ids": [], "job_ids": []}
    ids[f"{SIDES[side]}_ids"] = selected
    try:
        result = talent_batch(**ids)
    except InvalidPartitionKey as exc:
        raise fail(str(exc), 2) from None
    side_report = result["sides"][SIDES[side]]
    matched = result["matching"][SIDES[side]]
    for step, report in (("normalize", side_report["normalize"]),
                         ("embed", side_report["embed"]), ("match", matched)):
        typer.echo(f"  {step:<9} ran {len(report['ran']):>5}  cached {len(report['cached']):>5}"
                   f"  up to date {report['up_to_date']:>5}  failed {len(report['failed'])}")
    failures = result["failed"][SIDES[side]]
    for key, reason in list(failures.items())[:20]:
        typer.echo(f"  failed {key!r}: {reason}")
    if failures:
        raise typer.Exit(1)
