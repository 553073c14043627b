"""The `openai` provider: the official SDK against OpenAI or any OpenAI-compatible server
(vLLM, Ollama, llama.cpp), with structured output and our own retry loop.

Why our own retries (`max_retries=0` on the client): the loop must count attempts and sum the
tokens of every answered attempt for the cost record, use a back-off the tests can shrink, and
treat a bad answer as a task failure rather than something to re-ask silently.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any

import openai
from openai import OpenAI
from pydantic import ValidationError

from talentflow.llm import schema
from talentflow.llm.base import Kind, NormalizationError, NormalizationResult, Usage
from talentflow.llm.prompts import build_messages
from talentflow.llm.retry import backoff_delay, retry_after_seconds
from talentflow.llm.settings import LLMSettings
from talentflow.talent.profile import NormalizedProfile

# A server asking for a longer pause than this is not waited for inside a task (same limit as
# the SDK's own retries); the error is transient, so the run can be retried later.
MAX_RETRY_AFTER_S = 120.0
# 408 is a request timeout by another name; 409 and other 4xx mean "this request is wrong".
RETRY_STATUS = frozenset({408, 429})


def _schema_errors(error: ValidationError, limit: int = 5) -> str:
    parts = []
    for item in error.errors()[:limit]:
        where = ".".join(str(p) for p in item["loc"]) or "(root)"
        parts.append(f"{where}: {item['msg']}")
    more = error.error_count() - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class OpenAINormalizer:
    """`Normalizer` over the OpenAI chat completions API. Thread-safe: the SDK client is."""

    provider = "openai"

    def __init__(
        self,
        settings: LLMSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.model = settings.model
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._response_format = schema.response_format()
        self._client = OpenAI(
            base_url=settings.resolved_base_url(),
            api_key=settings.resolved_api_key(),
            timeout=settings.timeout_s,
            max_retries=0,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OpenAINormalizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def normalize(
        self, text: str, kind: Kind, *, entity_id: str | None = None
    ) -> NormalizationResult:
        started = time.perf_counter()
        messages = build_messages(text, kind, max_chars=self.settings.max_input_chars)
        usage = Usage()
        max_attempts = self.settings.max_attempts

        def fail(
            reason: str, attempts: int, *, raw: str | None = None, transient: bool = False
        ) -> NormalizationError:
            return NormalizationError(
                reason, kind=kind, entity_id=entity_id, provider=self.provider, model=self.model,
                raw_answer=raw, attempts=attempts, usage=usage, transient=transient,
            )

        for attempt in range(1, max_attempts + 1):
            try:
                completion = self._call(messages)
            except _Retryable as problem:
                if problem.retry_after is not None and problem.retry_after > MAX_RETRY_AFTER_S:
                    raise fail(
                        f"{problem.reason}; the server asks to wait {problem.retry_after:.0f} s, "
                        f"more than the {MAX_RETRY_AFTER_S:.0f} s waited inside a task",
                        attempt, transient=True,
                    ) from problem
                if attempt == max_attempts:
                    raise fail(f"gave up: {problem.reason}", attempt, transient=True) from problem
                delay = problem.retry_after
                if delay is None:
                    delay = backoff_delay(
                        attempt, self.settings.backoff_base_s, self.settings.backoff_max_s,
                        self._rng,
                    )
                self._sleep(delay)
                continue
            except openai.APIStatusError as error:
                raise fail(
                    f"the server rejected the request (HTTP {error.status_code}): "
                    f"{error.message}", attempt,
                ) from error

            if not hasattr(completion, "choices"):
                # The SDK hands back the body as-is when it is not JSON (a proxy's HTML page).
                raise fail("the server's reply is not a chat completion (not JSON)", attempt,
                           raw=str(completion))
            usage = usage + Usage.from_openai(completion.usage)
            profile = self._parse(completion, fail, attempt, text)
            return NormalizationResult(
                profile=profile,
                provider=self.provider,
                model=self.model,
                usage=usage,
                latency_s=time.perf_counter() - started,
                attempts=attempt,
            )
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _call(self, messages: list[dict[str, str]]) -> Any:
        try:
            return self._client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                temperature=0,
                response_format=self._response_format,  # type: ignore[arg-type]
            )
        except openai.APITimeoutError as error:
            raise _Retryable(f"request timed out after {self.settings.timeout_s:g} s") from error
        except openai.APIConnectionError as error:
            raise _Retryable(f"cannot connect to {self._client.base_url}: {error}") from error
        except openai.APIStatusError as error:
            if error.status_code in RETRY_STATUS or error.status_code >= 500:
                raise _Retryable(
                    f"HTTP {error.status_code}: {error.message}",
                    retry_after=retry_after_seconds(error.response.headers),
                ) from error
            raise

    @staticmethod
    def _parse(
        completion: Any, fail: Callable[..., NormalizationError], attempt: int, text: str
    ) -> NormalizedProfile:
        if not completion.choices:
            raise fail("the model returned no choices", attempt)
        choice = completion.choices[0]
        message = choice.message
        content = message.content if message is not None else None
        if message is not None and getattr(message, "refusal", None):
            raise fail(f"the model refused: {message.refusal}", attempt, raw=message.refusal)
        if choice.finish_reason == "length":
            raise fail("the answer was cut off at the token limit (finish_reason=length)",
                       attempt, raw=content)
        if choice.finish_reason == "content_filter":
            raise fail("the answer was withheld by the content filter", attempt, raw=content)
        if not content or not content.strip():
            raise fail("the model returned an empty answer", attempt)
        try:
            data = json.loads(content)
        except json.JSONDecodeError as error:
            raise fail(f"model answer is not JSON ({error.msg} at char {error.pos})", attempt,
                       raw=content) from None
        if not isinstance(data, dict):
            raise fail(f"model answer is JSON but not an object ({type(data).__name__})",
                       attempt, raw=content)
        try:
            # The document decides ambiguous skill names (GCP in a clinical posting).
            return NormalizedProfile.model_validate(data, context={"text": text})
        except ValidationError as error:
            raise fail(f"model answer does not fit the schema: {_schema_errors(error)}",
                       attempt, raw=content) from None
