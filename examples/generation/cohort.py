"""Write a cohort's membership file, or drop a cohort.

    python -m examples.generation.cohort --models 3 --templates 4 --combos 10 \\
        --out data/cohorts/big
    python -m examples.generation.cohort --model gpt-4o-mini --out data/cohorts/one
    python -m examples.generation.cohort --drop big    # unregister its keys (history kept)

A generated cohort is the product combos x draft templates x models, each draft with one
essay (the essay template paired with its draft template, same model) and one evaluation by
one judge (`--judge`, `--evaluation-template`): n drafts -> n essays -> n evaluations. Combos
and templates are the first ones of data/generation (combos.csv order, template names in
order). The file is only written; the `cohort` asset registers it (`generate-cohort` flow,
the demo, or `talentflow --definitions examples.generation materialize cohort -p ID`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from examples.generation.membership import rows_for, write
from examples.generation.templates import read_combos, read_templates

# Priced in data/llm_prices.csv, cheapest first.
MODELS = ("gpt-4.1-nano", "gpt-4o-mini", "gpt-4.1-mini", "gpt-4.1", "gpt-4o")
JUDGE = "gpt-4.1-mini"


def membership_rows(*, models: Sequence[str], templates: int, combos: int,
                    judge: str = JUDGE, evaluation_template: str = "rubric"
                    ) -> list[dict[str, str]]:
    """The rows of a generated cohort (ValueError if the data has too few of something)."""
    every_combo = list(read_combos())
    drafts = sorted(read_templates("draft"))
    essays = sorted(read_templates("essay"))
    if combos > len(every_combo):
        raise ValueError(f"--combos {combos}: combos.csv has {len(every_combo)}")
    if templates > len(drafts) or not essays:
        raise ValueError(f"--templates {templates}: there are {len(drafts)} draft and "
                         f"{len(essays)} essay templates")
    if evaluation_template not in read_templates("evaluation"):
        raise ValueError(f"no evaluation template {evaluation_template!r}")
    return rows_for(every_combo[:combos], drafts[:templates], list(models), essays,
                    evaluation_template, judge)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.generation.cohort",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=2,
                        help=f"how many of {', '.join(MODELS)} (default 2)")
    parser.add_argument("--model", action="append", default=[],
                        help="a model name (repeatable; replaces --models)")
    parser.add_argument("--templates", type=int, default=2, help="draft templates (default 2)")
    parser.add_argument("--combos", type=int, default=2, help="combos (default 2)")
    parser.add_argument("--judge", default=JUDGE, help=f"the evaluation model ({JUDGE})")
    parser.add_argument("--evaluation-template", default="rubric")
    parser.add_argument("--out", type=Path, help="the cohort folder (data/cohorts/<id>)")
    parser.add_argument("--drop", metavar="COHORT_ID",
                        help="unregister a cohort's keys no other cohort lists")
    args = parser.parse_args(argv)
    if args.drop:
        from examples.generation.cohorts import drop
        from talentflow.db import connect

        with connect() as conn:
            done = drop(conn, args.drop)
        print(f"dropped cohort {args.drop!r}: keys removed {done.dropped or 'none'} "
              "(their history stays, orphaned); delete its folder too")
        return 0
    if args.out is None:
        parser.error("--out is required (or --drop)")
    models = args.model or list(MODELS[:args.models])
    if not models:
        parser.error("--models must be at least 1")
    try:
        rows = membership_rows(models=models, templates=args.templates, combos=args.combos,
                               judge=args.judge, evaluation_template=args.evaluation_template)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    path = write(args.out, rows)
    print(f"wrote {path}: {len(rows)} drafts -> {len(rows)} essays -> {len(rows)} evaluations")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
