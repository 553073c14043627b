"""Scores parsed from an evaluator's answer: the documented format, what real models add to it,
and one clear line for every answer that does not parse. The prompts that ask for it."""

from __future__ import annotations

import random

import pytest

from examples.generation.evaluation import (
    FORMAT_MARKER,
    ScoreParseError,
    parse_scores,
    requested_criteria,
)
from examples.generation.llm import offline_evaluator
from examples.generation.prompts import TemplateError, render

CRITERIA = ("originality", "coherence", "style")


def test_the_documented_format() -> None:
    answer = ("A bold piece, a little loose in the middle.\n\n"
              "originality: 8/10\ncoherence: 6/10\nstyle: 7.5/10\noverall: 7/10")
    scores = parse_scores(answer, CRITERIA)
    assert scores.criteria == {"originality": 8.0, "coherence": 6.0, "style": 7.5}
    assert scores.overall == 7.0
    assert scores.to_json() == {"scores": {"originality": 8.0, "coherence": 6.0, "style": 7.5},
                                "overall": 7.0}


def test_what_real_models_add_is_tolerated() -> None:
    answer = ("**Verdict**: promising.\n"
              "- Originality: 9 / 10\n"
              "* **Coherence**: 5 out of 10\n"
              "**Style:** 6,5/10.\n"
              "Overall: 7/10")
    scores = parse_scores(answer, CRITERIA)
    assert scores.criteria == {"originality": 9.0, "coherence": 5.0, "style": 6.5}
    assert scores.overall == 7.0


@pytest.mark.parametrize(("answer", "message"), [
    ("", "the evaluator's answer is empty"),
    ("   \n  ", "the evaluator's answer is empty"),
    ("I really enjoyed this essay, it deserves an eight.",
     "no score line ('<criterion>: <score>/10') in the evaluator's answer 'I really enjoyed"),
    ("originality: 8/10\ncoherence: 6/10\nstyle: 7/10",
     "no 'overall: <score>/10' line in the evaluator's answer (scored: originality, "
     "coherence, style)"),
    ("originality: 8/10\nstyle: 7/10\noverall: 7/10",
     "criterion 'coherence' has no score line ('coherence: <score>/10')"),
    ("originality: 8/10\ncoherence: 6/10\nstyle: 7/10\noverall: 7/10\noverall: 9/10",
     "'overall' is scored twice (lines 4 and 5)"),
    ("originality: 12/10\ncoherence: 6/10\nstyle: 7/10\noverall: 7/10",
     "the score 12/10 for 'originality' (line 1) is outside 0-10"),
])
def test_answers_that_do_not_parse_say_why_in_one_line(answer: str, message: str) -> None:
    with pytest.raises(ScoreParseError) as info:
        parse_scores(answer, CRITERIA)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_an_evaluation_prompt_asks_for_its_templates_criteria() -> None:
    template = "criteria: Voice, clarity\n\nJudge this:\n{essay}\n"
    prompt = render("evaluation", "editor", template, "The essay text.")
    assert prompt.criteria == ("voice", "clarity")
    assert prompt.text.startswith("Judge this:\nThe essay text.")
    assert FORMAT_MARKER in prompt.text
    assert prompt.text.endswith("voice: <score>/10\nclarity: <score>/10\noverall: <score>/10")
    assert requested_criteria(prompt.text) == ["voice", "clarity"]


@pytest.mark.parametrize(("stage", "template", "message"), [
    ("draft", "Write about things.", "draft template 't' has no {concepts} placeholder"),
    ("essay", "Expand {concepts}.", "essay template 't' has no {draft} placeholder"),
    ("evaluation", "Judge {essay}.", "must start with a 'criteria: a, b, c' line"),
    ("evaluation", "criteria:\n\n{essay}", "evaluation template 't' names no criteria"),
])
def test_a_template_that_cannot_make_a_prompt_is_named(stage: str, template: str,
                                                       message: str) -> None:
    with pytest.raises(TemplateError, match=message.replace("(", r"\(").replace(")", r"\)")):
        render(stage, "t", template, "x")


def test_other_braces_in_a_template_are_text() -> None:
    prompt = render("draft", "t", "Use {concepts}; keep {braces} and {0} as they are.", "a, b")
    assert prompt.text == "Use a, b; keep {braces} and {0} as they are."


def test_the_offline_evaluator_answers_in_the_format_it_was_asked_for() -> None:
    prompt = render("evaluation", "rubric", "criteria: originality, coherence, style\n\n{essay}",
                    "Lighthouses and compasses, ferries and the sea.").text
    answer = offline_evaluator(prompt, "gpt-4.1-mini", random.Random(1))
    assert answer is not None
    scores = parse_scores(answer, CRITERIA)
    assert set(scores.criteria) == set(CRITERIA)
    assert offline_evaluator("Write a poem.", "gpt-4.1-mini", random.Random(1)) is None
