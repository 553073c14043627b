"""`talentflow generate` and `talentflow ingest`: sample rows in, source tables filled.

Top-level commands (not a group): they are the first two things a new user runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from enum import StrEnum
from pathlib import Path

import typer

from talentflow.talent import generate as gen

# Below this many rows a progress bar is noise: the whole run takes well under a second.
PROGRESS_MIN_ROWS = 10_000


class FileFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


class Entity(StrEnum):
    candidates = "candidates"
    jobs = "jobs"


def _counted(rows: Iterable[dict], progress, task) -> Iterator[dict]:
    # Update the bar every 1,000 rows: per-row updates would cost more than generating.
    done = 0
    for done, row in enumerate(rows, 1):
        yield row
        if done % 1000 == 0:
            progress.update(task, completed=done)
    progress.update(task, completed=done)


def generate(
    candidates: int = typer.Option(
        gen.SAMPLE_CANDIDATES, "--candidates", min=0, help="How many candidates to write."
    ),
    jobs: int = typer.Option(gen.SAMPLE_JOBS, "--jobs", min=0, help="How many jobs to write."),
    seed: int = typer.Option(
        gen.SAMPLE_SEED, "--seed",
        help="Random seed: the same seed and counts give byte-identical files.",
    ),
    out: Path = typer.Option(
        ..., "--out", file_okay=False, dir_okay=True, writable=True,
        help="Folder to write candidates.<fmt> and jobs.<fmt> into (created if missing; "
        "existing files of those names are replaced).",
    ),
    fmt: FileFormat = typer.Option(
        FileFormat.jsonl, "--format", help="jsonl (one JSON object a line) or csv (with header)."
    ),
) -> None:
    """Write realistic, seeded sample candidates (CVs) and job postings.

    The defaults reproduce the shipped sample: talentflow generate --out data

    Load the files with: talentflow ingest DIR/candidates.jsonl
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    out.mkdir(parents=True, exist_ok=True)
    write = gen.write_jsonl if fmt is FileFormat.jsonl else gen.write_csv
    plan = [
        ("candidates", candidates, gen.generate_candidates),
        ("jobs", jobs, gen.generate_jobs),
    ]
    show = max(candidates, jobs) >= PROGRESS_MIN_ROWS
    progress = Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), console=Console(stderr=True), disable=not show,
    )
    done: list[str] = []  # printed after the bars, so lines and bars do not interleave
    with progress:
        for name, count, make in plan:
            path = out / f"{name}.{fmt.value}"
            started = time.perf_counter()
            task = progress.add_task(name, total=count)
            written = write(_counted(make(count, seed), progress, task), path)
            done.append(f"wrote {written:,} {name} to {path} "
                        f"({time.perf_counter() - started:.1f} s)")
    for line in done:
        typer.echo(line)


def ingest(
    file: Path = typer.Argument(
        ..., help="A .jsonl or .csv file of candidates or jobs (UTF-8).", show_default=False
    ),
    entity: Entity | None = typer.Option(
        None, "--entity",
        help="What the file holds. Default: inferred from the columns (cv_text means "
        "candidates, description means jobs).",
    ),
    show: int = typer.Option(
        100, "--show", min=0,
        help="Print at most this many bad rows (all of them are stored in the quarantine "
        "table).",
    ),
) -> None:
    """Load candidates or jobs into PostgreSQL: new rows inserted, changed rows updated.

    Re-ingesting the same file changes nothing; rows absent from the file are left alone.

    Bad rows are listed with line number and reason and kept in the quarantine table.

    Exit code 0 when the file was read (even with bad rows), 1 when it could not be read.
    """
    from talentflow.db.engine import DatabaseUnavailable
    from talentflow.talent.ingest import IngestError
    from talentflow.talent.ingest import ingest as run_ingest

    try:
        report = run_ingest(file, entity.value if entity else None)
    except (IngestError, DatabaseUnavailable) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(report.summary())
    if report.problems:
        stored = (f"{report.quarantine_added:,} new in the quarantine table"
                  if report.quarantine_added else "already in the quarantine table")
        typer.echo(f"bad rows ({report.quarantined:,}; {stored}):")
        for line, reason in report.problems[:show]:
            typer.echo(f"  line {line}: {reason}")
        if report.quarantined > show:
            typer.echo(f"  … and {report.quarantined - show:,} more")
