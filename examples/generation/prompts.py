"""Prompts from templates: each stage's template has one placeholder its input fills.

| stage | placeholder | filled with |
|---|---|---|
| draft | `{concepts}` | the combo's concepts, comma-separated |
| essay | `{draft}` | the parent draft's text |
| evaluation | `{essay}` | the parent essay's text |

An evaluation template starts with a `criteria: a, b, c` line (then a blank line); the prompt
ends with the score format of evaluation.py for those criteria. Placeholders are replaced
literally (no str.format): other braces in a template are plain text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from examples.generation.evaluation import format_instructions

PLACEHOLDER = {"draft": "{concepts}", "essay": "{draft}", "evaluation": "{essay}"}
CRITERIA_HEADER = "criteria:"


class TemplateError(ValueError):
    """A template that cannot make a prompt (the message names the template)."""


@dataclass(frozen=True)
class Prompt:
    text: str
    criteria: tuple[str, ...] = ()


def split_criteria(name: str, template: str) -> tuple[tuple[str, ...], str]:
    """(criteria, body) of an evaluation template."""
    first, _, body = template.partition("\n")
    if not first.strip().lower().startswith(CRITERIA_HEADER):
        raise TemplateError(f"evaluation template {name!r} must start with a "
                            f"'{CRITERIA_HEADER} a, b, c' line")
    criteria = tuple(c.strip().lower() for c in first.split(":", 1)[1].split(",") if c.strip())
    if not criteria:
        raise TemplateError(f"evaluation template {name!r} names no criteria")
    return criteria, body.lstrip("\n")


def render(stage: str, name: str, template: str, filling: str) -> Prompt:
    """The prompt of `stage` from template `name` with its placeholder filled."""
    placeholder = PLACEHOLDER[stage]
    criteria: tuple[str, ...] = ()
    body = template
    if stage == "evaluation":
        criteria, body = split_criteria(name, template)
    if placeholder not in body:
        raise TemplateError(f"{stage} template {name!r} has no {placeholder} placeholder")
    text = body.replace(placeholder, filling).rstrip()
    if criteria:
        text += "\n\n" + format_instructions(criteria)
    return Prompt(text, criteria)


def concepts_text(concepts: Sequence[str]) -> str:
    return ", ".join(concepts)
