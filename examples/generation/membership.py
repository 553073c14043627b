"""A cohort's membership file: `data/cohorts/<cohort_id>/membership.csv`.

    stage,combo,draft_template,draft_model,essay_template,essay_model,evaluation_template,evaluation_model
    draft,c01,scene,gpt-4o-mini,,,,
    essay,c01,scene,gpt-4o-mini,expand,gpt-4o-mini,,
    evaluation,c01,scene,gpt-4o-mini,expand,gpt-4o-mini,rubric,gpt-4.1-mini

A row of stage S fills the dimensions of S and of every stage before it, and leaves the later
ones empty; it makes the cohort list that generation *and its parents* (an evaluation row
lists its essay and its draft too). Values are used byte for byte (no trimming): a template
is a file name under data/generation/templates/<stage>/, a combo an id of combos.csv, a model
a name of letters, digits and `. _ : / @ + -`.

Parsing is all or nothing: every malformed row is reported, one line each naming the line and
the column, and a cohort with any malformed row registers nothing.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from examples.generation.partitions import (
    DIMS,
    EVALUATION_DIMS,
    MODEL_DIM,
    SETS,
    STAGES,
    TEMPLATE_DIM,
)
from talentflow.partitions.codec import to_filename
from talentflow.partitions.errors import InvalidPartitionKey

COLUMNS = ("stage", *EVALUATION_DIMS)
FILE_NAME = "membership.csv"
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}")
MAX_REPORTED = 5  # errors shown in the message; the count says how many more


class CohortError(ValueError):
    """Malformed membership rows: `errors` has one line per problem."""

    def __init__(self, cohort_id: str, errors: Sequence[str]) -> None:
        self.cohort_id, self.errors = cohort_id, list(errors)
        shown = "; ".join(self.errors[:MAX_REPORTED])
        more = len(self.errors) - MAX_REPORTED
        super().__init__(f"cohort {cohort_id!r}: {len(self.errors)} problem(s), nothing "
                         f"registered: {shown}" + (f"; and {more} more" if more > 0 else ""))


@dataclass(frozen=True)
class Membership:
    """The keys a cohort lists, per stage, in file order without repeats."""

    cohort_id: str
    rows: int
    keys: dict[str, list[str]] = field(default_factory=dict)

    def pairs(self) -> list[tuple[str, str]]:
        """(partition set, key) of every listed generation."""
        return [(SETS[stage].name, k) for stage in STAGES for k in self.keys.get(stage, [])]


def parse(cohort_id: str, text: str, *, combos: Iterable[str],
          templates: Mapping[str, Iterable[str]]) -> Membership:
    """The keys `text` (a membership file) lists; CohortError naming every bad row."""
    known_combos = set(combos)
    known_templates = {s: set(templates.get(s, ())) for s in STAGES}
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = list(reader.fieldnames or [])
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown:
        raise CohortError(cohort_id, [
            f"line 1 (header): missing column(s) {missing}, unknown column(s) {unknown}; the "
            f"columns are {','.join(COLUMNS)}"])
    errors: list[str] = []
    keys: dict[str, dict[str, None]] = {s: {} for s in STAGES}
    rows = 0
    for row in reader:
        rows += 1
        where = f"line {reader.line_num}"
        if None in row:  # more cells than columns
            errors.append(f"{where}: {len(header) + len(row[None])} cells for "
                          f"{len(header)} columns")
            continue
        stage = row["stage"] or ""
        if stage not in STAGES:
            errors.append(f"{where}, column stage: {stage!r} is not one of {', '.join(STAGES)}")
            continue
        problems = _row_problems(row, stage, known_combos, known_templates)
        if problems:
            errors.extend(f"{where}, {p}" for p in problems)
            continue
        for s in STAGES[:STAGES.index(stage) + 1]:
            try:
                key = SETS[s].key(*(row[d] for d in DIMS[s]))
                to_filename(key)  # the generation id must exist too
            except InvalidPartitionKey as exc:
                errors.append(f"{where}: the {s} key {exc.reason}")
                break
            keys[s].setdefault(key, None)
    if rows == 0 and not errors:
        errors.append("the file lists no rows")
    if errors:
        raise CohortError(cohort_id, errors)
    return Membership(cohort_id, rows, {s: list(k) for s, k in keys.items()})


def _row_problems(row: Mapping[str, str | None], stage: str, combos: set[str],
                  templates: Mapping[str, set[str]]) -> list[str]:
    problems: list[str] = []
    used = DIMS[stage]
    for column in EVALUATION_DIMS:
        value = row[column] or ""
        if column not in used:
            if value:
                problems.append(f"column {column}: must be empty in {_a(stage)} row "
                                f"(got {value!r})")
            continue
        if not value:
            problems.append(f"column {column}: empty ({_a(stage)} row fills "
                            f"{', '.join(used)})")
        elif column == "combo" and value not in combos:
            problems.append(f"column combo: no combo {value!r} in combos.csv")
        elif column.endswith("_template"):
            s = column.removesuffix("_template")
            if value not in templates[s]:
                known = ", ".join(sorted(templates[s])) or "none"
                problems.append(f"column {column}: no {s} template {value!r} (known: {known})")
        elif column.endswith("_model") and not MODEL_NAME.fullmatch(value):
            problems.append(f"column {column}: {value!r} is not a model name (letters, "
                            "digits and . _ : / @ + -)")
    return problems


def _a(stage: str) -> str:
    return f"{'an' if stage[0] in 'aeiou' else 'a'} {stage}"


def rows_for(combos: Sequence[str], draft_templates: Sequence[str], models: Sequence[str],
             essay_templates: Sequence[str], evaluation_template: str,
             evaluation_model: str) -> list[dict[str, str]]:
    """Evaluation rows of the product combos x draft templates x models: each draft gets one
    essay (the essay template paired with its draft template, by the same model) and one
    evaluation by one judge model, so n drafts -> n essays -> n evaluations."""
    out = []
    for combo in combos:
        for i, template in enumerate(draft_templates):
            for model in models:
                out.append({
                    "stage": "evaluation", "combo": combo, "draft_template": template,
                    "draft_model": model,
                    TEMPLATE_DIM["essay"]: essay_templates[i % len(essay_templates)],
                    MODEL_DIM["essay"]: model,
                    TEMPLATE_DIM["evaluation"]: evaluation_template,
                    MODEL_DIM["evaluation"]: evaluation_model,
                })
    return out


def write(path: Path, rows: Iterable[Mapping[str, str]]) -> Path:
    """Write a membership file (a folder `<cohort_id>/` with membership.csv in it)."""
    if path.suffix != ".csv":
        path = path / FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in COLUMNS})
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path
