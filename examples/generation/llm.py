"""The generation system's LLM: the library's generic completion client, with one responder
that makes the offline provider answer evaluation prompts in the score format.

The resource is the settings (`CompletionSettings.from_env()`: TALENTFLOW_COMPLETION_PROVIDER
= offline | openai, OPENAI_BASE_URL, OPENAI_API_KEY, ...); its `identity()` is part of every
stage's code version, so switching provider or server regenerates. The model is not a
setting: it is each key's model dimension.
"""

from __future__ import annotations

import random
import re

from examples.generation.evaluation import FORMAT_MARKER, OVERALL, requested_criteria
from talentflow.engine import Resource
from talentflow.llm.completion import CompletionClient, CompletionSettings, completion_client

_WORDS = re.compile(r"[^\W\d_]+", re.UNICODE)
_REMARKS = {
    "high": ["is handled with real confidence", "is the strongest part of the piece",
             "stays fresh from start to finish"],
    "mid": ["works, though it could be pushed further", "is competent but uneven",
            "holds up in most places"],
    "low": ["needs another pass", "is where the piece loses its reader",
            "feels unfinished"],
}


def settings() -> CompletionSettings:
    return CompletionSettings.from_env()


def identity(s: CompletionSettings) -> str:
    return s.identity()


RESOURCE = Resource(settings, identity, "text completion for drafts, essays and evaluations")


def _model_bias(model: str) -> float:
    # Each model has a steady temperament (some judges are harsher), from its name alone.
    return random.Random(f"bias:{model}").uniform(-1.0, 1.0)


def offline_evaluator(prompt: str, model: str, rng: random.Random) -> str | None:
    """An evaluator's answer for prompts that carry the score format: a short comment per
    criterion and scores that follow the text's lexical variety, the judge model's bias and
    some noise. Any other prompt: None (plain prose)."""
    if FORMAT_MARKER not in prompt:
        return None
    criteria = requested_criteria(prompt)
    words = [w.lower() for w in _WORDS.findall(prompt.partition(FORMAT_MARKER)[0])]
    variety = len(set(words)) / len(words) if words else 0.0
    base = 3.5 + 6.0 * variety + _model_bias(model)
    lines, scores = [], []
    for criterion in criteria:
        score = max(0, min(10, round(base + rng.uniform(-1.5, 1.5))))
        scores.append(score)
        band = "high" if score >= 8 else "mid" if score >= 5 else "low"
        lines.append(f"The {criterion} {rng.choice(_REMARKS[band])}.")
    overall = round(sum(scores) / len(scores)) if scores else round(base)
    lines.append("")
    lines += [f"{c}: {s}/10" for c, s in zip(criteria, scores, strict=True)]
    lines.append(f"{OVERALL}: {max(0, min(10, overall))}/10")
    return "\n".join(lines)


def client(s: CompletionSettings) -> CompletionClient:
    return completion_client(s, responders=[offline_evaluator])
