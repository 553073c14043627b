"""`talentflow matches ID`: an entity's stored top matches, each with why."""

from __future__ import annotations

import json

import typer

from talentflow.cli.common import connection, fail


def matches(
    key: str = typer.Argument(..., help="A candidate id (c-00001) or, with --kind job, a job id."),
    kind: str = typer.Option("candidate", "--kind", help="candidate or job."),
    top: int = typer.Option(10, "--top", min=1, max=100, help="How many matches to show."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Show KEY's best matches on the other side, as stored by the match assets: score, the
    features it fuses (dense, lexical, skill coverage, seniority fit), shared skills and the
    job's must-have skills the candidate lacks. Exit 1 if KEY has no match list."""
    from talentflow.talent.entities import entity
    from talentflow.talent.match_view import NoMatches, explained_matches, explanation_line

    try:
        ent = entity(kind)
    except ValueError as exc:
        raise fail(str(exc), code=2) from None
    with connection("the match tables are missing") as conn:
        try:
            view = explained_matches(conn, ent, key, top)
        except NoMatches as exc:
            raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(view, indent=2))
        return
    typer.echo(f"{view['kind']} {view['id']} ({view['title'] or 'not normalized'}): "
               f"top {len(view['matches'])}")
    for rank, m in enumerate(view["matches"], 1):
        typer.echo(f"{rank:>3}. {m['score']:.3f}  {m['id']}  {m['title'] or ''}")
        typer.echo(f"       {explanation_line(m)}")
