"""`talentflow demo`: the whole pipeline on the embedded defaults, end to end."""

from __future__ import annotations

import time

import typer

from talentflow import config
from talentflow.cli.common import print_report, progress_bar


def demo(
    show: int = typer.Option(3, "--show", help="How many candidates to show the top-3 matches of."),
) -> None:
    """Migrate, ingest the sample in data/, run every new or changed candidate and job through
    normalize -> embed -> match, and print what ran, a few top matches and the time taken.

    Run it twice: the second run finds every partition up to date and does no work.
    """
    started = time.perf_counter()
    from talentflow.db import migrate
    from talentflow.talent.ingest import ingest

    before, after = migrate.upgrade()
    typer.echo(f"database: schema {'at' if before == after else 'upgraded to'} {after}")
    for name in ("candidates", "jobs"):
        report = ingest(config.data_dir() / f"{name}.jsonl", entity=name)
        typer.echo(
            f"ingest data/{name}.jsonl: {report.inserted} new, {report.updated} changed, "
            f"{report.unchanged} unchanged, {report.quarantined} quarantined"
        )

    from talentflow.engine import KeySelection, pending
    from tasks.definitions import defs

    todo = pending(defs.bind(), defs.assets, KeySelection())
    if not todo:
        # Planned from one bulk status query: no flow run needed to find out nothing changed.
        typer.echo("nothing to do: every partition is up to date (no flow run, no LLM call, "
                   "no embedding)")
        _print_top_matches(show)
        typer.echo(f"done in {time.perf_counter() - started:.1f} s")
        return
    typer.echo(f"running the talent pipeline (Prefect flow talent-batch) over "
               f"{sum(todo.values())} missing, stale or failed partition(s) ...")
    from flows.batch import talent_batch
    from talentflow.engine.flow import report_from_dict

    with progress_bar():
        report = report_from_dict(talent_batch())
    print_report(report)
    from talentflow.costs.reports import run_summary
    from talentflow.db import connect

    with connect() as conn:
        typer.echo(run_summary(conn, report.flow_run_id))
    _print_top_matches(show)
    typer.echo(f"done in {time.perf_counter() - started:.1f} s "
               f"(flow {report.seconds:.1f} s)")
    if not report.ok:
        raise typer.Exit(1)


def _print_top_matches(show: int) -> None:
    from talentflow.db import connect
    from talentflow.talent.entities import CANDIDATE
    from talentflow.talent.match_view import explained_matches, explanation_line

    with connect() as conn:
        ids = [r[0] for r in conn.execute(
            "SELECT candidate_id FROM candidate_matches ORDER BY candidate_id LIMIT %s",
            [show],
        ).fetchall()]
        for cid in ids:
            view = explained_matches(conn, CANDIDATE, cid, 3)
            typer.echo(f"top matches for {cid} ({view['title']}); "
                       f"`talentflow matches {cid}` shows 10:")
            for m in view["matches"]:
                typer.echo(f"  {m['score']:.3f}  {m['id']}  {m['title']}")
                typer.echo(f"         {explanation_line(m)}")
