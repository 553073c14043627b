"""What every command group needs: a clear exit on error, a connection that explains itself."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import typer


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print `message` to stderr; raise the returned Exit to stop with `code`."""
    typer.echo(message, err=True)
    return typer.Exit(code)


@contextmanager
def connection(missing: str) -> Iterator[psycopg.Connection]:
    """A database connection; an unreachable database or a missing table (`missing` names
    what is missing) ends the command with a one-line message instead of a traceback."""
    from talentflow.db import connect
    from talentflow.db.engine import DatabaseUnavailable

    try:
        with connect() as conn:
            yield conn
    except DatabaseUnavailable as exc:
        raise fail(str(exc)) from None
    except psycopg.errors.UndefinedTable as exc:
        raise fail(f"{missing} ({str(exc).splitlines()[0]}): run `talentflow db upgrade`"
                   ) from None


def definitions():
    """The project's Definitions (TALENTFLOW_DEFINITIONS / --definitions), or a one-line exit."""
    from talentflow.engine.definitions import DefinitionsNotFound, load_definitions

    try:
        return load_definitions()
    except DefinitionsNotFound as exc:
        raise fail(str(exc)) from None


def asset_of(defs, name: str):
    from talentflow.engine.definitions import UnknownAsset

    try:
        return defs.get(name)
    except UnknownAsset as exc:
        raise fail(str(exc)) from None


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is now (a second command in one process, a test
    runner's capture), never to the stream of the first call."""

    @property  # type: ignore[override]
    def stream(self):  # noqa: ANN201
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # noqa: ANN001 - StreamHandler.__init__ sets it
        pass


def show_progress() -> None:
    """Print the engine's per-batch progress lines (logger talentflow.progress)."""
    logger = logging.getLogger("talentflow.progress")
    if not any(isinstance(h, _CurrentStderr) for h in logger.handlers):
        handler = _CurrentStderr()
        handler.setFormatter(logging.Formatter("  … %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def print_report(report, *, as_json: bool = False) -> None:
    """One line per asset (ran, cached, up to date, failed, blocked, held), then failures."""
    import json

    if as_json:
        typer.echo(json.dumps(report.to_dict(), default=str))
        return
    if not report.assets:
        typer.echo("nothing to do: every selected partition is up to date")
        return
    for r in report.assets.values():
        checked = "".join(f", {label} {n}" for label, n in (
            ("failed a blocking check", len(r.check_failed)),
            ("check warnings", len(r.check_warnings))) if n)
        typer.echo(f"  {r.asset}: ran {len(r.ran)}, cached {len(r.cached)}, "
                   f"up to date {r.up_to_date}, failed {len(r.failed)}, "
                   f"blocked {len(r.blocked)}, held by another run {len(r.held)}{checked}")
    shown = 0
    for r in report.assets.values():
        problems = [*(("failed", k, e) for k, e in r.failed.items()),
                    *(("failed", k, e) for k, e in r.check_failed.items()),
                    *(("warning", k, e) for k, e in r.check_warnings.items())]
        for kind, key, error in problems:
            if shown == 20:
                typer.echo("  … more: `talentflow status --state failed`, `talentflow checks`")
                return
            typer.echo(f"  {kind} {r.asset}[{key!r}]: {error}")
            shown += 1


@contextmanager
def progress_bar() -> Iterator[None]:
    """A live bar per asset (keys done, cached, failed, ETA) on a terminal; the engine's
    progress lines when stderr is not one (a log file, CI, a test)."""
    if not sys.stderr.isatty():
        show_progress()
        yield
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from talentflow.engine.run import PROGRESS

    bars: dict[str, Any] = {}
    with Progress(TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("cached {task.fields[cached]}  failed {task.fields[failed]}"),
                  TimeElapsedColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=False) as bar:
        def listen(p: Any) -> None:
            if p.asset not in bars:
                bars[p.asset] = bar.add_task(p.asset, total=max(p.total, 1), cached=0,
                                             failed=0)
            bar.update(bars[p.asset], total=max(p.total, 1),
                       completed=p.done + p.failed + p.blocked, cached=p.cached,
                       failed=p.failed)

        token = PROGRESS.set(listen)
        try:
            yield
        finally:
            PROGRESS.reset(token)
