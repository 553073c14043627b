"""`talentflow automation list` and `talentflow reconcile`: the durable path, by hand."""

from __future__ import annotations

import json

import typer

from talentflow.cli.common import definitions, show_progress

app = typer.Typer(help="Declarative automation: what runs by itself, and why.",
                  no_args_is_help=True)


@app.command("list")
def list_automation(
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
) -> None:
    """Every asset with its automation condition and what the reconcile loop would run now
    (one bulk status query per asset)."""
    from talentflow.engine.automation import condition_of
    from talentflow.engine.reconcile import evaluate

    defs = definitions()
    report = evaluate(defs)
    due = {name: (x.group, n) for x in report.launches for name, n in x.pending.items()}
    rows = [{"asset": a.name, "automation": condition_of(a).describe(),
             "would_run": due.get(a.name, ("", 0))[1]}
            for a in defs.assets if not a.source]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    width = max(len(r["asset"]) for r in rows) if rows else 5
    for r in rows:
        typer.echo(f"{r['asset']:<{width}}  {r['automation']:<24}  would run {r['would_run']}")


def reconcile(
    dry_run: bool = typer.Option(False, "--dry-run", help="Evaluate only; launch nothing."),
    as_json: bool = typer.Option(False, "--json", help="The report as JSON."),
) -> None:
    """Evaluate every asset's automation now and launch materialize runs for what it selects:
    through the `materialize` deployment when the Prefect API has one, else in this process.
    After a crash, a lost event or a database restart, this is what picks the work up."""
    from talentflow.engine.reconcile import reconcile_once, summary

    if not as_json and not dry_run:
        show_progress()
    report = reconcile_once(definitions(), dry_run=dry_run)
    if as_json:
        typer.echo(json.dumps(report.to_dict()))
        return
    for x in report.launches:
        n = sum(x.pending.values())
        detail = ", ".join(f"{a} {c}" for a, c in x.pending.items()) or "none"
        typer.echo(f"  {x.group}: {n} key(s) pending ({detail})"
                   + (f" -> {x.run}" if x.run else ""))
    typer.echo(summary(report))
