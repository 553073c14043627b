"""Waiting between attempts at an OpenAI-compatible API: what the server asks for, else
exponential back-off with jitter. Shared by every client (the normalizer, the completion
client); it imports nothing of the talent application, so code versions that reach it stay
free of it."""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Mapping


def retry_after_seconds(headers: Mapping[str, str] | None, now: float | None = None
                        ) -> float | None:
    """Seconds the server asks us to wait: `retry-after-ms`, then `Retry-After` as seconds or
    an HTTP date. None if absent or unreadable."""
    if not headers:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            continue
        if math.isfinite(seconds):
            return max(0.0, seconds)
    value = headers.get("retry-after")
    if value:
        try:
            when = email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError, IndexError):
            return None
        return max(0.0, when - (time.time() if now is None else now))
    return None


def backoff_delay(attempt: int, base_s: float, max_s: float, rng: random.Random) -> float:
    """Exponential back-off with equal jitter after failed attempt `attempt` (1-based)."""
    step = min(max_s, base_s * 2 ** (attempt - 1))
    return step / 2 + rng.uniform(0, step / 2)
