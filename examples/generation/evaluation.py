"""Scores in an evaluator's answer: the format every evaluation prompt asks for, and its parser.

The format (appended to every evaluation prompt by `format_instructions`):

    <comments, any length>
    originality: 7/10
    coherence: 8/10
    style: 6/10
    overall: 7/10

One line per criterion the template names, then `overall`, each `<name>: <score>/10` with a
score from 0 to 10 (decimals allowed; `8 / 10`, `8 out of 10`, a leading `-` or `*` and
markdown bold are tolerated, because real models add them). Anything else in the answer is
comment. An answer that does not parse fails its key with one line saying why; the raw answer
stays with the failure (metadata `raw_answer`) and in the cost ledger's row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

SCORE_MAX = 10.0
OVERALL = "overall"
# The sentence that opens the format block: offline responders recognize a prompt by it.
FORMAT_MARKER = "Answer format: after your comments, end with one line per criterion"

_LINE = re.compile(
    r"^\s*(?:[-*•]\s*)?\**\s*(?P<name>[A-Za-z][A-Za-z0-9 _-]{0,40}?)\s*\**\s*[:=]\s*\**\s*"
    r"(?P<score>-?\d+(?:[.,]\d+)?)\s*\**\s*(?:/\s*10|out of 10)\s*\**\s*\.?\s*$",
    re.IGNORECASE)
_REQUESTED = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9 _-]*): <score>/10$", re.MULTILINE)


class ScoreParseError(ValueError):
    """The evaluator's answer does not hold the scores asked for (one line saying why)."""


@dataclass(frozen=True)
class Scores:
    criteria: dict[str, float]
    overall: float

    def to_json(self) -> dict[str, object]:
        return {"scores": dict(self.criteria), OVERALL: self.overall}


def format_instructions(criteria: Sequence[str]) -> str:
    """The block that ends an evaluation prompt: how to write the scores."""
    lines = "\n".join(f"{c}: <score>/10" for c in (*criteria, OVERALL))
    return (f"{FORMAT_MARKER}, exactly as below, each <score> a number from 0 to 10, and the "
            f"overall score last:\n{lines}")


def requested_criteria(prompt: str) -> list[str]:
    """The criteria a prompt's format block asks for (overall excluded); [] if none."""
    _, found, block = prompt.partition(FORMAT_MARKER)
    if not found:
        return []
    return [m["name"] for m in _REQUESTED.finditer(block) if m["name"] != OVERALL]


def _preview(answer: str, limit: int = 60) -> str:
    flat = " ".join(answer.split())
    return repr(flat if len(flat) <= limit else flat[:limit] + "…")


def parse_scores(answer: str, criteria: Sequence[str]) -> Scores:
    """The scores of `criteria` and the overall score in `answer`; ScoreParseError (one line)
    if one is missing, given twice or out of range."""
    if not answer or not answer.strip():
        raise ScoreParseError("the evaluator's answer is empty")
    found: dict[str, tuple[float, int]] = {}
    for number, line in enumerate(answer.splitlines(), start=1):
        m = _LINE.match(line)
        if m is None:
            continue
        name = " ".join(m["name"].split()).lower()
        score = float(m["score"].replace(",", "."))
        if name in found:
            raise ScoreParseError(f"{name!r} is scored twice (lines {found[name][1]} and "
                                  f"{number})")
        if not 0 <= score <= SCORE_MAX:
            raise ScoreParseError(f"the score {m['score']}/10 for {name!r} (line {number}) is "
                                  "outside 0-10")
        found[name] = (score, number)
    if not found:
        raise ScoreParseError("no score line ('<criterion>: <score>/10') in the evaluator's "
                              f"answer {_preview(answer)}")
    if OVERALL not in found:
        raise ScoreParseError(f"no '{OVERALL}: <score>/10' line in the evaluator's answer "
                              f"(scored: {', '.join(found)})")
    missing = [c for c in criteria if c.lower() not in found]
    if missing:
        raise ScoreParseError(f"criterion {missing[0]!r} has no score line "
                              f"('{missing[0]}: <score>/10') in the evaluator's answer")
    return Scores({c: found[c.lower()][0] for c in criteria}, found[OVERALL][0])
