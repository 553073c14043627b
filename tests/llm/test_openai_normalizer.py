"""The `openai` provider through the real SDK, over HTTP, against the test server.
Nothing here patches the SDK: every behaviour is something a server really does."""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Iterator

import pytest

from talentflow.costs import tokens
from talentflow.llm import prompts
from talentflow.llm.base import NormalizationError, Usage
from talentflow.llm.openai_normalizer import OpenAINormalizer, backoff_delay, retry_after_seconds
from talentflow.llm.rules import RulesNormalizer
from talentflow.llm.settings import LLMSettings
from tests.llm import samples
from tests.llm.conftest import TEST_KEY
from tests.support import openai_server as srv
from tests.support.openai_server import OpenAIServer


class RecordingSleep:
    """Real sleeps, recorded, so a test can see which delay the retry loop chose."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        time.sleep(seconds)


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def normalizer(openai_settings: LLMSettings, sleeps: RecordingSleep) -> Iterator[OpenAINormalizer]:
    with OpenAINormalizer(openai_settings, sleep=sleeps, rng=random.Random(7)) as n:
        yield n


def make(settings: LLMSettings, **changes: object) -> OpenAINormalizer:
    return OpenAINormalizer(settings.model_copy(update=changes))


def usage_sent(server: OpenAIServer, index: int = -1) -> Usage:
    sent = server.responses[index].usage
    assert sent is not None
    return Usage(
        sent["prompt_tokens"], sent["completion_tokens"],
        sent["prompt_tokens_details"]["cached_tokens"],
    )


def test_happy_path(normalizer: OpenAINormalizer, openai_server: OpenAIServer) -> None:
    result = normalizer.normalize(samples.BACKEND_CV, "candidate", entity_id="c-001")
    assert (result.provider, result.model, result.attempts) == ("openai", "gpt-4o-mini", 1)
    # The test model answers with the rules' profile, so the JSON made the round trip intact.
    assert result.profile == RulesNormalizer().extract(samples.BACKEND_CV, "candidate")
    assert result.usage == usage_sent(openai_server)
    messages = prompts.build_messages(samples.BACKEND_CV, "candidate")
    assert result.usage.prompt_tokens == srv.count_chat_tokens(messages)
    assert result.usage.completion_tokens == srv.count_tokens(result.profile.model_dump_json())
    assert result.usage.cached_tokens == 0
    assert result.latency_s > 0


def test_request_carries_model_temperature_schema_and_key(
    normalizer: OpenAINormalizer, openai_server: OpenAIServer
) -> None:
    normalizer.normalize(samples.JOB_STAFF_DATA_ENGINEER, "job")
    (request,) = openai_server.chat_requests
    assert request.method == "POST" and request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {TEST_KEY}"
    body = request.body
    assert body["model"] == "gpt-4o-mini"
    assert body["temperature"] == 0
    assert body["messages"] == prompts.build_messages(samples.JOB_STAFF_DATA_ENGINEER, "job")
    rf = body["response_format"]
    assert rf["type"] == "json_schema"
    assert rf["json_schema"]["name"] == "normalized_profile"
    assert rf["json_schema"]["strict"] is True
    assert "seniority" in rf["json_schema"]["schema"]["properties"]


def test_cached_tokens_are_reported(openai_settings: LLMSettings) -> None:
    with srv.run_openai_server(cached_tokens=512) as server:
        result = make(openai_settings, base_url=server.base_url).normalize("Data Engineer", "job")
    assert result.usage.cached_tokens == 512
    assert result.usage == usage_sent(server)


def test_429_then_success_honours_retry_after(
    normalizer: OpenAINormalizer, openai_server: OpenAIServer, sleeps: RecordingSleep
) -> None:
    # A back-off base of 5 s would make this test slow: it is fast only because the server's
    # Retry-After (0.2 s) is used instead.
    normalizer.settings = normalizer.settings.model_copy(update={"backoff_base_s": 5.0})
    openai_server.enqueue(srv.status(429, retry_after="0.2"))
    started = time.perf_counter()
    result = normalizer.normalize(samples.BACKEND_CV, "candidate")
    assert result.attempts == 2
    assert sleeps.calls == [0.2]
    assert time.perf_counter() - started >= 0.2
    assert len(openai_server.chat_requests) == 2
    assert result.usage == usage_sent(openai_server)  # the 429 carried no usage


def test_retry_after_ms_header(
    normalizer: OpenAINormalizer, openai_server: OpenAIServer, sleeps: RecordingSleep
) -> None:
    openai_server.enqueue(srv.status(429, retry_after_ms="50", retry_after="9"))
    assert normalizer.normalize("Data Engineer", "job").attempts == 2
    assert sleeps.calls == [0.05]


def test_500_then_success_backs_off(
    normalizer: OpenAINormalizer, openai_server: OpenAIServer, sleeps: RecordingSleep
) -> None:
    openai_server.enqueue(srv.status(500), srv.status(503))
    result = normalizer.normalize(samples.DATA_SCIENTIST_CV, "candidate")
    assert result.attempts == 3
    assert len(sleeps.calls) == 2
    # Equal jitter: attempt n waits between half and all of min(max, base * 2^(n-1)).
    assert 0.005 <= sleeps.calls[0] <= 0.01
    assert 0.01 <= sleeps.calls[1] <= 0.02


def test_5xx_every_time_gives_up_after_max_attempts(
    normalizer: OpenAINormalizer, openai_server: OpenAIServer
) -> None:
    openai_server.enqueue(*[srv.status(502)] * 3)
    with pytest.raises(NormalizationError) as info:
        normalizer.normalize("Data Engineer", "job", entity_id="j-7")
    error = info.value
    assert "job j-7" in str(error) and "after 3 attempt(s)" in str(error)
    assert "HTTP 502" in str(error)
    assert error.transient is True and error.attempts == 3
    assert len(openai_server.chat_requests) == 3


def test_huge_retry_after_is_not_waited_for(
    normalizer: OpenAINormalizer, openai_server: OpenAIServer, sleeps: RecordingSleep
) -> None:
    openai_server.enqueue(srv.status(429, retry_after="3600"))
    with pytest.raises(NormalizationError, match="asks to wait 3600 s") as info:
        normalizer.normalize("Data Engineer", "job")
    assert info.value.transient is True
    assert sleeps.calls == []
    assert len(openai_server.chat_requests) == 1


@pytest.mark.parametrize("code", [400, 401, 404, 422])
def test_other_4xx_is_not_retried(
    normalizer: OpenAINormalizer, openai_server: OpenAIServer, code: int
) -> None:
    openai_server.enqueue(srv.status(code))
    with pytest.raises(NormalizationError, match=f"rejected the request \\(HTTP {code}\\)") as info:
        normalizer.normalize("Data Engineer", "job", entity_id="j-1")
    assert info.value.transient is False and info.value.attempts == 1
    assert len(openai_server.chat_requests) == 1


def test_malformed_answer_is_a_clear_error(
    normalizer: OpenAINormalizer, openai_server: OpenAIServer
) -> None:
    openai_server.enqueue(srv.malformed())
    with pytest.raises(NormalizationError) as info:
        normalizer.normalize(samples.BACKEND_CV, "candidate", entity_id="c-042")
    error = info.value
    assert str(error).startswith("cannot normalize candidate c-042 [openai/gpt-4o-mini]")
    assert "model answer is not JSON" in str(error)
    assert error.raw_answer is not None and error.raw_answer.startswith("Sure! Here is")
    assert error.transient is False
    # Not retried (temperature 0 would say the same), but the tokens it cost are kept.
    assert len(openai_server.chat_requests) == 1
    assert error.usage == usage_sent(openai_server)


def test_schema_violation_is_a_clear_error(
    normalizer: OpenAINormalizer, openai_server: OpenAIServer
) -> None:
    openai_server.enqueue(srv.wrong_schema())
    with pytest.raises(NormalizationError, match="does not fit the schema") as info:
        normalizer.normalize(samples.BACKEND_CV, "candidate", entity_id="c-1")
    message = str(info.value)
    assert "seniority: Input should be" in message
    assert "years_experience" in message
    assert '"wizard"' in (info.value.raw_answer or "")


def test_raw_answer_is_truncated(normalizer: OpenAINormalizer, openai_server: OpenAIServer) -> None:
    openai_server.enqueue(srv.ok(content="not json " * 5000))
    with pytest.raises(NormalizationError, match="not JSON") as info:
        normalizer.normalize("Data Engineer", "job")
    assert info.value.raw_answer is not None and len(info.value.raw_answer) < 2100


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        (srv.refusal(), "refused"),
        (srv.length(), "finish_reason=length"),
        (srv.empty(), "empty answer"),
        (srv.ok(content="[1, 2, 3]"), "not an object"),
        (srv.not_json_body(), "not a chat completion"),
    ],
)
def test_unusable_answers(
    normalizer: OpenAINormalizer, openai_server: OpenAIServer, behaviour: srv.Behaviour,
    reason: str,
) -> None:
    openai_server.enqueue(behaviour)
    with pytest.raises(NormalizationError, match=reason):
        normalizer.normalize("Data Engineer", "job")
    assert len(openai_server.chat_requests) == 1


def test_timeout_is_retried_then_fails(
    openai_settings: LLMSettings, openai_server: OpenAIServer
) -> None:
    openai_server.enqueue(srv.slow(3), srv.slow(3))
    normalizer = make(openai_settings, timeout_s=0.3, max_attempts=2)
    started = time.perf_counter()
    with pytest.raises(NormalizationError, match="timed out after 0.3 s") as info:
        normalizer.normalize("Data Engineer", "job", entity_id="j-3")
    assert time.perf_counter() - started < 2.5
    assert info.value.transient is True and info.value.attempts == 2
    assert len(openai_server.chat_requests) == 2


def test_timeout_then_success(openai_settings: LLMSettings, openai_server: OpenAIServer) -> None:
    openai_server.enqueue(srv.slow(3))
    result = make(openai_settings, timeout_s=0.3).normalize("Data Engineer", "job")
    assert result.attempts == 2


def test_connection_refused_is_retried(openai_settings: LLMSettings) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    normalizer = make(openai_settings, base_url=f"http://127.0.0.1:{port}/v1", max_attempts=2)
    with pytest.raises(NormalizationError, match="cannot connect") as info:
        normalizer.normalize("Data Engineer", "job")
    assert info.value.attempts == 2 and info.value.transient is True


def test_long_text_is_truncated_before_sending(
    openai_settings: LLMSettings, openai_server: OpenAIServer
) -> None:
    huge = samples.BACKEND_CV * 2000  # ~2.4 MB
    result = make(openai_settings, max_input_chars=4000).normalize(huge, "candidate")
    sent = openai_server.chat_requests[0].body["messages"][1]["content"]
    assert len(sent) < 4200 and prompts.TRUNCATION_MARKER in sent
    # The shared system prompt (with the vocabulary) plus ~4,000 characters of CV, not 2.4 MB.
    system = tokens.count_text(prompts.system_prompt())
    assert result.usage.prompt_tokens < system + 1500


def test_retry_after_parsing() -> None:
    assert retry_after_seconds(None) is None
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "2"}) == 0.25
    assert retry_after_seconds({"retry-after": "soon"}) is None
    date = "Wed, 21 Oct 2015 07:28:10 GMT"
    assert retry_after_seconds({"retry-after": date}, now=1445412480.0) == 10.0


def test_backoff_grows_and_is_capped() -> None:
    rng = random.Random(1)
    for attempt, (low, high) in enumerate([(0.5, 1), (1, 2), (2, 4), (4, 8), (5, 10)], 1):
        assert low <= backoff_delay(attempt, 1.0, 10.0, rng) <= high
    assert backoff_delay(30, 1.0, 10.0, rng) <= 10.0
