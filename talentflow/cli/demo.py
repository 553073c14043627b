"""`talentflow demo`: the whole pipeline on the embedded defaults, end to end."""

from __future__ import annotations

import time

import typer

from talentflow import config


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

    pending = _pending_partitions()
    if not pending:
        # Planned from one bulk status query: no flow run needed to find out nothing changed.
        typer.echo("nothing to do: every partition is up to date (no flow run, no LLM call, "
                   "no embedding)")
        _print_top_matches(show)
        typer.echo(f"done in {time.perf_counter() - started:.1f} s")
        return
    typer.echo(f"running the talent pipeline (Prefect flow talent-batch) over {pending} "
               "missing, stale or failed partition(s) ...")
    _show_progress()
    from flows.batch import talent_batch

    result = talent_batch()
    _print_summary(result)
    _print_top_matches(show)
    typer.echo(f"done in {time.perf_counter() - started:.1f} s "
               f"(flow {result['seconds']:.1f} s)")


def _pending_partitions() -> int:
    """How many (asset, key) partitions are missing, stale or failed, after looking at the
    source rows: one bulk status query per asset."""
    from talentflow.db import connect
    from talentflow.partitions import catalog
    from talentflow.partitions.observation import observe_sources
    from talentflow.partitions.status import status_all

    catalog.load_definitions("flows.definitions")
    assets = catalog.all_assets()
    with connect() as conn:
        observe_sources(conn, assets)
        by_asset = status_all(conn, [a for a in assets if not a.source], propagate=False)
    return sum(s.status in ("missing", "stale", "failed") for rows in by_asset.values()
               for s in rows)


def _print_summary(result: dict) -> None:
    from talentflow.costs.reports import run_summary
    from talentflow.db import connect

    did_work = False
    for kind, side in result["sides"].items():
        for step in ("normalize", "embed"):
            r = side[step]
            ran, cached, up = len(r["ran"]), len(r["cached"]), r["up_to_date"]
            did_work |= bool(ran or cached)
            typer.echo(f"  {kind:<9} {step:<9} ran {ran:>4}  cached {cached:>4}  "
                       f"up to date {up:>4}  failed {len(r['failed'])}")
    for kind, m in result["matching"].items():
        ran = len(m.get("ran", []))
        did_work |= bool(ran or m.get("other_side_absorbed"))
        typer.echo(f"  {kind:<9} matching  ran {ran:>4}  cached {len(m.get('cached', [])):>4}  "
                   f"up to date {m.get('up_to_date', 0):>4}  failed {len(m.get('failed', {}))}")
    failed = {k: v for side in result["failed"].values() for k, v in side.items()}
    if failed:
        typer.echo(f"{len(failed)} partition(s) failed; see `talentflow status`:")
        for key, reason in list(failed.items())[:5]:
            typer.echo(f"  {key}: {reason}")
    if not did_work:
        typer.echo("nothing to do: every partition is up to date (no LLM call, no embedding)")
    with connect() as conn:
        typer.echo(run_summary(conn, result["flow_run_id"]))


def _print_top_matches(show: int) -> None:
    from talentflow.db import connect
    from talentflow.talent import store
    from talentflow.talent.entities import CANDIDATE

    with connect() as conn:
        ids = [r[0] for r in conn.execute(
            "SELECT candidate_id FROM candidate_vectors ORDER BY candidate_id LIMIT %s",
            [show],
        ).fetchall()]
        for cid in ids:
            name, title = conn.execute(
                "SELECT c.name, n.title FROM candidates c JOIN normalized_candidates n "
                "ON n.candidate_id = c.id WHERE c.id = %s", [cid]
            ).fetchone()
            typer.echo(f"top matches for {cid} ({name}, {title}):")
            for job_id, score, cosine, overlap in store.top_matches(conn, CANDIDATE, cid, 3):
                job_title, company = conn.execute(
                    "SELECT title, company FROM jobs WHERE id = %s", [job_id]
                ).fetchone()
                typer.echo(f"  {score:.3f}  {job_id}  {job_title} at {company}  "
                           f"(cosine {cosine:.3f}, skills {overlap:.0%})")


def _show_progress() -> None:
    """Print the pipeline's per-batch progress lines (logger talentflow.progress)."""
    import logging

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("  … %(message)s"))
    logger = logging.getLogger("talentflow.progress")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
