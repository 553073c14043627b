"""The generic completion client: offline answers are deterministic and counted like the API
counts them; the `openai` provider goes through the real SDK, over HTTP, to the test server
(never patched): answers, usage, retries, and every way an answer can be unusable."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import pytest

from talentflow.costs import tokens
from talentflow.llm.completion import (
    CompletionError,
    CompletionSettings,
    OfflineCompletion,
    OpenAICompletion,
    Usage,
    completion_client,
    messages_for,
)
from tests.llm.conftest import TEST_KEY
from tests.support import openai_server as srv
from tests.support.openai_server import OpenAIServer

PROMPT = "Write about 120 words on a lighthouse keeper, a broken compass and the last ferry."


def test_offline_answers_are_deterministic_per_prompt_and_model() -> None:
    client = OfflineCompletion()
    first = client.complete(PROMPT, model="gpt-4o-mini")
    assert client.complete(PROMPT, model="gpt-4o-mini").text == first.text
    assert client.complete(PROMPT, model="gpt-4.1-nano").text != first.text
    assert client.complete(PROMPT + " Be brief.", model="gpt-4o-mini").text != first.text
    assert (first.provider, first.model, first.attempts) == ("offline", "gpt-4o-mini", 1)
    words = first.text.split()
    assert 100 <= len(words) <= 160  # about the length asked for
    assert {"lighthouse", "compass", "ferry"} & {w.strip(".,;:").lower() for w in words}


def test_offline_usage_is_counted_as_the_api_bills_it() -> None:
    answer = OfflineCompletion().complete(PROMPT, model="m", system="Be kind.")
    assert answer.usage == Usage(
        prompt_tokens=tokens.count_messages(messages_for(PROMPT, "Be kind.")),
        completion_tokens=tokens.count_text(answer.text))


def test_responders_shape_offline_answers_first_claim_wins() -> None:
    seen: list[str] = []

    def scores(prompt: str, model: str, rng: random.Random) -> str | None:
        seen.append(model)
        return f"score: {rng.randint(0, 10)}/10" if "Score" in prompt else None

    client = OfflineCompletion([scores, lambda p, m, r: "never reached"])
    assert client.complete("Score this.", model="judge").text.startswith("score: ")
    assert client.complete("Write a poem.", model="poet").text == "never reached"
    assert seen == ["judge", "poet"]


def test_settings_from_the_environment_and_what_decides_an_answer() -> None:
    env = {"TALENTFLOW_COMPLETION_PROVIDER": "OpenAI", "OPENAI_BASE_URL": "http://h/v1",
           "OPENAI_API_KEY": "sk-secret", "TALENTFLOW_COMPLETION_MAX_TOKENS": "300"}
    s = CompletionSettings.from_env(env)
    assert (s.provider, s.max_tokens, s.resolved_base_url(env)) == ("openai", 300,
                                                                    "http://h/v1")
    assert "sk-secret" not in s.identity() and "http://h/v1" in s.identity()
    assert s.identity() != s.model_copy(update={"temperature": 0.0}).identity()
    assert CompletionSettings.from_env({}).identity().startswith("offline-v1")
    with pytest.raises(ValueError, match="needs an API key"):
        CompletionSettings(provider="openai").resolved_api_key({})
    with pytest.raises(ValueError):
        CompletionSettings.from_env({"TALENTFLOW_COMPLETION_PROVIDER": "rules"})


# --------------------------------------------------------------------------------------------
# openai, over HTTP


@pytest.fixture
def settings(openai_server: OpenAIServer) -> CompletionSettings:
    return CompletionSettings(provider="openai", base_url=openai_server.base_url,
                              api_key=TEST_KEY, timeout_s=5, max_attempts=3,
                              backoff_base_s=0.01, backoff_max_s=0.05, max_tokens=200)


@pytest.fixture
def client(settings: CompletionSettings) -> Iterator[OpenAICompletion]:
    with OpenAICompletion(settings, rng=random.Random(3)) as c:
        yield c


def sent_usage(server: OpenAIServer, index: int = -1) -> Usage:
    u = server.responses[index].usage
    assert u is not None
    return Usage(u["prompt_tokens"], u["completion_tokens"],
                 u["prompt_tokens_details"]["cached_tokens"])


def test_an_answer_with_its_usage(client: OpenAICompletion, openai_server: OpenAIServer) -> None:
    openai_server.enqueue(srv.ok("The keeper climbed the stairs."))
    answer = client.complete(PROMPT, model="gpt-4.1-nano", system="You write fiction.")
    assert answer.text == "The keeper climbed the stairs."
    assert (answer.provider, answer.model, answer.attempts) == ("openai", "gpt-4.1-nano", 1)
    assert answer.usage == sent_usage(openai_server)
    [request] = openai_server.chat_requests
    assert request.body["model"] == "gpt-4.1-nano"
    assert request.body["max_tokens"] == 200 and request.body["temperature"] == 0.7
    assert request.body["messages"] == messages_for(PROMPT, "You write fiction.")
    assert request.headers["authorization"] == f"Bearer {TEST_KEY}"
    assert "response_format" not in request.body


def test_a_rate_limit_is_waited_out_as_the_server_asks(openai_server: OpenAIServer,
                                                      settings: CompletionSettings) -> None:
    waited: list[float] = []

    def sleep(s: float) -> None:
        waited.append(s)
        time.sleep(s)

    openai_server.enqueue(srv.status(429, retry_after="0.2"), srv.ok("done"))
    with OpenAICompletion(settings, sleep=sleep) as c:
        answer = c.complete("hi", model="m")
    assert (answer.text, answer.attempts, waited) == ("done", 2, [0.2])
    assert answer.usage == sent_usage(openai_server)  # the 429 billed nothing


def test_server_errors_are_retried_then_given_up_as_transient(
        client: OpenAICompletion, openai_server: OpenAIServer) -> None:
    openai_server.enqueue(srv.status(500), srv.status(503), srv.status(500))
    with pytest.raises(CompletionError) as info:
        client.complete("hi", model="m")
    error = info.value
    assert error.transient and error.attempts == 3
    assert "gave up: HTTP 500" in str(error) and "after 3 attempt(s)" in str(error)
    assert len(openai_server.chat_requests) == 3 and error.usage == Usage()


def test_a_rejected_request_is_not_retried(client: OpenAICompletion,
                                           openai_server: OpenAIServer) -> None:
    openai_server.enqueue(srv.status(400))
    with pytest.raises(CompletionError, match=r"rejected the request \(HTTP 400\)") as info:
        client.complete("hi", model="m")
    assert not info.value.transient and len(openai_server.chat_requests) == 1


@pytest.mark.parametrize(("behaviour", "reason", "billed"), [
    (srv.refusal(), "the model refused: I'm sorry", True),
    (srv.length(), "cut off at max_tokens=200 (finish_reason=length)", True),
    (srv.empty(), "the model returned an empty answer", True),
    (srv.not_json_body(), "not a chat completion (not JSON)", False),
])
def test_unusable_answers_fail_with_their_reason_and_usage(
        client: OpenAICompletion, openai_server: OpenAIServer, behaviour: srv.Behaviour,
        reason: str, billed: bool) -> None:
    openai_server.enqueue(behaviour)
    with pytest.raises(CompletionError) as info:
        client.complete(PROMPT, model="gpt-4o-mini")
    assert reason in str(info.value) and info.value.attempts == 1
    assert (info.value.usage == sent_usage(openai_server)) if billed else \
        info.value.usage == Usage()
    if behaviour.kind == "length":
        assert info.value.raw  # the half answer is kept


def test_the_factory_picks_the_provider(settings: CompletionSettings) -> None:
    assert isinstance(completion_client(CompletionSettings()), OfflineCompletion)
    online = completion_client(settings)
    assert isinstance(online, OpenAICompletion)
    online.close()


def test_its_own_counting_and_retry_rules_are_the_normalizers() -> None:
    # Written again in completion.py so that generation code versions do not reach the talent
    # normalizer (see its module doc); they must stay the same rules.
    from talentflow.llm import openai_normalizer as normalizer
    from talentflow.llm.completion import backoff_delay, count_messages, retry_after_seconds

    messages = messages_for("Ünïcode, <|endoftext|> and a long prompt " * 20, "Be brief.")
    assert count_messages(messages) == tokens.count_messages(messages)
    for headers in ({"retry-after-ms": "250"}, {"retry-after": "3"}, {"retry-after": "soon"},
                    {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, {}, None):
        assert retry_after_seconds(headers, now=1445412480.0) == \
            normalizer.retry_after_seconds(headers, now=1445412480.0)
    for attempt in (1, 2, 5, 9):
        assert backoff_delay(attempt, 1.0, 30.0, random.Random(attempt)) == \
            normalizer.backoff_delay(attempt, 1.0, 30.0, random.Random(attempt))
    assert Usage.from_openai(None) == Usage()
