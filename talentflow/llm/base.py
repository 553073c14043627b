"""The normalize step's contract: what every provider takes, returns and raises.

Flows and tasks depend on this module only; which provider runs is a settings decision
(`factory.get_normalizer`). Results carry token usage and timings so a task hook can record cost
without knowing the provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from talentflow.talent.profile import NormalizedProfile

Kind = Literal["candidate", "job"]
KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]

# Enough of a bad answer to see what went wrong in a log or the status table, never megabytes.
RAW_ANSWER_LIMIT = 2000


@dataclass(frozen=True)
class Usage:
    """Tokens as the OpenAI API reports them; `cached_tokens` is the part of `prompt_tokens`
    served from the provider's prompt cache (billed at a discount)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.cached_tokens + other.cached_tokens,
        )

    @classmethod
    def from_openai(cls, usage: object | None) -> Usage:
        """From the SDK's `completion.usage` (any attribute may be missing on compatible
        servers such as vLLM or Ollama, which is read as zero)."""
        if usage is None:
            return cls()
        details = getattr(usage, "prompt_tokens_details", None)
        return cls(
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            cached_tokens=int(getattr(details, "cached_tokens", 0) or 0),
        )


@dataclass(frozen=True)
class NormalizationResult:
    profile: NormalizedProfile
    provider: str
    model: str
    usage: Usage
    # Wall-clock seconds for the whole call, retries and back-off sleeps included: what the
    # pipeline actually waited.
    latency_s: float
    attempts: int


class NormalizationError(Exception):
    """The text could not be turned into a valid profile. Never a partial record.

    `transient` is True when the cause was the service (rate limits, 5xx, timeouts) and a later
    retry may succeed; False when the answer itself was unusable or the request was rejected.
    `usage` holds the tokens already spent (a bad answer is still billed), so a cost hook can
    record failures too.
    """

    def __init__(
        self,
        reason: str,
        *,
        kind: str | None = None,
        entity_id: str | None = None,
        provider: str | None = None,
        model: str | None = None,
        raw_answer: str | None = None,
        attempts: int = 0,
        usage: Usage | None = None,
        transient: bool = False,
    ) -> None:
        self.reason = reason
        self.kind = kind
        self.entity_id = entity_id
        self.provider = provider
        self.model = model
        self.raw_answer = truncate_raw(raw_answer)
        self.attempts = attempts
        self.usage = usage or Usage()
        self.transient = transient
        super().__init__(self._message())

    def _message(self) -> str:
        who = f"{self.kind or 'text'} {self.entity_id}" if self.entity_id else self.kind or "text"
        via = f" [{self.provider}/{self.model}]" if self.provider else ""
        tries = f" after {self.attempts} attempt(s)" if self.attempts > 1 else ""
        return f"cannot normalize {who}{via}{tries}: {self.reason}"


def truncate_raw(raw: str | None, limit: int = RAW_ANSWER_LIMIT) -> str | None:
    if raw is None or len(raw) <= limit:
        return raw
    return raw[:limit] + f"... [{len(raw) - limit} more characters]"


@runtime_checkable
class Normalizer(Protocol):
    """Turns a CV or a job posting into a `NormalizedProfile`."""

    provider: str
    model: str

    def normalize(
        self, text: str, kind: Kind, *, entity_id: str | None = None
    ) -> NormalizationResult: ...
