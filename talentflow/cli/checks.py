"""`talentflow checks`: the latest result of each asset check per key, and re-running checks.

    talentflow checks                          # per check: passed / failed / error, failing keys
    talentflow checks --failed --check not_empty
    talentflow checks run not_empty --from 2024-03-01 --to 2024-03-31
"""

from __future__ import annotations

import json

import typer

from talentflow.cli.common import connection, definitions, fail, print_report

app = typer.Typer(
    help="Asset checks: list their latest results per partition key, or re-run them alone.",
    invoke_without_command=True,
)


@app.callback()
def list_results(
    ctx: typer.Context,
    check: list[str] = typer.Option(None, "--check", "-c", help="Only this check (repeatable)."),
    partition: list[str] = typer.Option(None, "--partition", "-p", help="Only this key "
                                        "(repeatable)."),
    failed: bool = typer.Option(False, "--failed", help="List only failed and errored results."),
    limit: int = typer.Option(20, "--limit", min=0, help="Results listed per check."),
    as_json: bool = typer.Option(False, "--json", help="Every listed result as a JSON line."),
) -> None:
    """The latest result of each (check, key): counts per check, then the results that did
    not pass (all of them with --json). A result of an older materialization than the key's
    current data is marked `(older data)`: it no longer speaks for the key."""
    if ctx.invoked_subcommand is not None:
        return
    from talentflow.engine import checks as checking

    defs = definitions()
    chosen = _chosen(defs, check)
    if not chosen:
        typer.echo("the definitions declare no asset checks")
        return
    names = [c.name for c in chosen]
    outcomes = [checking.CheckOutcome.FAILED, checking.CheckOutcome.ERROR] if failed or \
        not as_json else None
    with connection("the check tables are missing") as conn:
        tally = checking.summary(conn, names)
        listed = checking.latest_results(conn, names, keys=partition or None,
                                         outcomes=outcomes)
    if as_json:
        for r in listed:
            typer.echo(json.dumps({"check": r.check, "asset": r.asset, "key": r.key,
                                   "outcome": r.outcome.value, "severity": r.severity.value,
                                   "blocking": r.blocking, "current": r.current,
                                   "description": r.description, "error": r.error,
                                   "metadata": r.metadata, "checked_at": r.checked_at,
                                   "flow_run_id": r.flow_run_id}, default=str))
        return
    for c in chosen:
        t = tally[c.name]
        typer.echo(f"{c.name} ({c.asset_name}{', blocking' if c.blocking else ''}): "
                   f"passed {t['passed']}, failed {t['failed']}, error {t['error']}")
        mine = [r for r in listed if r.check == c.name]
        for r in mine[:limit]:
            why = r.error or r.description or ""
            extra = f" {json.dumps(r.metadata, default=str)}" if r.metadata and not r.error \
                else ""
            older = "" if r.current else " (older data)"
            typer.echo(f"  {r.outcome.value} [{r.severity.value}] {r.key!r}{older}"
                       f"{': ' + why if why else ''}{extra}")
        if len(mine) > limit:
            typer.echo(f"  … {len(mine) - limit} more (--limit, --json)")


@app.command("run")
def run(
    check: list[str] = typer.Argument(None, metavar="[CHECK]...",
                                      help="Checks to run (default all)."),
    partition: list[str] = typer.Option(None, "--partition", "-p", help="Key (repeatable)."),
    start: str = typer.Option(None, "--from", help="Keys from this one (windows of a time set "
                              "in time order)."),
    end: str = typer.Option(None, "--to", help="Keys up to this one, inclusive."),
    as_json: bool = typer.Option(False, "--json", help="Print the run report as JSON."),
) -> None:
    """Re-run checks alone (no materialization) on the current data of the keys, in one
    Prefect flow run (`run-checks`). Default: every materialized key. Exit 1 if a blocking
    check fails, 2 for an unknown check or invalid key."""
    from talentflow.engine import run_checks
    from talentflow.engine.definitions import UnknownAsset
    from talentflow.partitions import InvalidPartitionKey

    defs = definitions()
    try:
        report = run_checks(defs, list(check) or None, keys=list(partition or []) or None,
                            key_from=start, key_to=end)
    except (InvalidPartitionKey, UnknownAsset, ValueError) as exc:
        raise fail(str(exc), 2) from None
    if as_json:
        print_report(report, as_json=True)
    else:
        for r in report.assets.values():
            for name, t in r.checks.items():
                typer.echo(f"  {name} ({r.asset}): passed {t['passed']}, failed {t['failed']}, "
                           f"error {t['error']}")
            for key, why in list(r.check_failed.items())[:20]:
                typer.echo(f"  {r.asset}[{key!r}]: {why}")
            if r.blocked:
                typer.echo(f"  {len(r.blocked)} key(s) of {r.asset} have no materialized value "
                           "to check")
        if not any(r.checks for r in report.assets.values()):
            typer.echo("nothing to check: no materialized keys in the selection")
    if not report.ok:
        raise typer.Exit(1)


def _chosen(defs, names: list[str] | None):
    from talentflow.engine.definitions import UnknownAsset

    try:
        return [defs.get_check(n) for n in names] if names else defs.checks
    except UnknownAsset as exc:
        raise fail(str(exc), 2) from None
