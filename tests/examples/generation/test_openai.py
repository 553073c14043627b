"""The generation stages through the real `openai` SDK, over HTTP, to the OpenAI-compatible
test server: what the model answered is what the files hold, each call is priced in the
ledger from the usage the server reported, and an evaluator's answer that does not parse
fails its key with a clear error while its bill and raw answer are kept."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from examples.generation.flows import generate_cohort
from tests.examples.generation.conftest import Dirs, evaluation_row, gen_id, row_keys, write_cohort
from tests.support import openai_server as srv
from tests.support.openai_server import OpenAIServer, run_openai_server

ROW = evaluation_row("c03", "dialogue", "gpt-4.1-nano", "reflect", judge="gpt-4o-mini")
DRAFT = "— You missed the stop. — So did you.\n— Then we are both going somewhere new."
ESSAY = "Two strangers on a night train learn that missing a stop can be a beginning."
# USD per million tokens in data/llm_prices.csv: (input, output).
PRICES = {"gpt-4.1-nano": (Decimal("0.10"), Decimal("0.40")),
          "gpt-4o-mini": (Decimal("0.15"), Decimal("0.60"))}


@pytest.fixture
def server(dirs: Dirs, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIServer]:
    with run_openai_server() as s:
        monkeypatch.setenv("TALENTFLOW_COMPLETION_PROVIDER", "openai")
        monkeypatch.setenv("OPENAI_BASE_URL", s.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-generation")
        yield s


def ledger(db: str) -> dict[str, tuple]:
    with psycopg.connect(db) as conn:
        return {a: (k, p, m, pt, ct, cost, st, err) for a, k, p, m, pt, ct, cost, st, err in
                conn.execute("SELECT asset, partition_key, provider, model, prompt_tokens, "
                             "completion_tokens, cost_usd, status, error FROM llm_calls")}


def test_answers_go_to_the_files_and_each_call_is_priced(gdb: str, dirs: Dirs,
                                                         server: OpenAIServer) -> None:
    verdict = ("Warm and strange.\noriginality: 8/10\ncoherence: 7/10\nstyle: 9/10\n"
               "overall: 8/10")
    server.enqueue(srv.ok(DRAFT), srv.ok(ESSAY), srv.ok(verdict))
    write_cohort(dirs, "one", [ROW])
    out = generate_cohort("one")
    assert out["ok"], out
    keys = row_keys(ROW)
    requests = server.chat_requests
    assert [r.body["model"] for r in requests] == ["gpt-4.1-nano", "gpt-4.1-nano",
                                                   "gpt-4o-mini"]
    assert DRAFT in requests[1].body["messages"][-1]["content"]  # the essay read its draft
    assert ESSAY in requests[2].body["messages"][-1]["content"]
    gens = {stage: dirs.generations(stage)[gen_id(keys[stage])]
            for stage in ("draft", "essay", "evaluation")}
    assert gens["draft"]["raw.txt"] == DRAFT and gens["essay"]["raw.txt"] == ESSAY
    assert gens["evaluation"]["parsed.json"] == {
        "scores": {"originality": 8.0, "coherence": 7.0, "style": 9.0}, "overall": 8.0}
    rows = ledger(gdb)
    for i, stage in enumerate(("draft", "essay", "evaluation")):
        usage = server.responses[i].usage
        key, provider, model, prompt, completion, cost, status, _ = rows[stage]
        assert (key, provider, status) == (keys[stage], "openai", "ok")
        assert model == ROW[f"{stage}_model"]
        assert (prompt, completion) == (usage["prompt_tokens"], usage["completion_tokens"])
        price_in, price_out = PRICES[model]
        assert cost == (prompt * price_in + completion * price_out) / Decimal(1_000_000)
        meta = gens[stage]["metadata.json"]
        assert meta["provider"] == "openai" and meta["cost_usd"] == pytest.approx(float(cost))
        assert meta["tokens"]["prompt"] == prompt


def test_an_answer_without_scores_fails_its_key_and_is_kept(gdb: str, dirs: Dirs,
                                                            server: OpenAIServer) -> None:
    chatty = "What a lovely essay! I would give it high marks for feeling."
    server.enqueue(srv.ok(DRAFT), srv.ok(ESSAY), srv.ok(chatty))
    write_cohort(dirs, "one", [ROW])
    out = generate_cohort("one")
    assert not out["ok"]
    keys = row_keys(ROW)
    error = out["assets"]["evaluation"]["failed"][keys["evaluation"]]
    assert error == (f"KeyFailed: evaluation {gen_id(keys['evaluation'])}: cannot parse the "
                     "evaluator's answer: no score line ('<criterion>: <score>/10') in the "
                     "evaluator's answer 'What a lovely essay! I would give it high marks "
                     "for feeling.'")
    assert gen_id(keys["evaluation"]) not in dirs.generations("evaluation")  # no half file
    with psycopg.connect(gdb) as conn:
        [(metadata,)] = conn.execute(
            "SELECT metadata FROM materializations WHERE asset = 'evaluation' "
            "AND status = 'failed'").fetchall()
    assert metadata["raw_answer"] == chatty
    *_, cost, status, err = ledger(gdb)["evaluation"]
    usage = server.responses[2].usage
    assert status == "failed" and err.startswith("cannot parse the evaluator's answer")
    assert cost == (usage["prompt_tokens"] * PRICES["gpt-4o-mini"][0]
                    + usage["completion_tokens"] * PRICES["gpt-4o-mini"][1]) / 1_000_000
    # The draft and essay stand; a run with a better answer fixes only the evaluation.
    server.enqueue(srv.ok("originality: 5/10\ncoherence: 5/10\nstyle: 5/10\noverall: 5/10"))
    again = generate_cohort("one")
    assert again["ok"], again
    assert again["assets"]["evaluation"]["ran"] == [keys["evaluation"]]
    assert not again["assets"]["draft"]["ran"] and not again["assets"]["essay"]["ran"]
    assert len(server.chat_requests) == 4


def test_a_call_that_gives_up_fails_its_key_with_the_reason(gdb: str, dirs: Dirs,
                                                            server: OpenAIServer,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    monkeypatch.setenv("TALENTFLOW_COMPLETION_MAX_TOKENS", "64")
    server.enqueue(srv.status(400))
    write_cohort(dirs, "one", [ROW])
    out = generate_cohort("one")
    keys = row_keys(ROW)
    assert "rejected the request (HTTP 400)" in out["assets"]["draft"]["failed"][keys["draft"]]
    assert out["assets"]["essay"]["blocked"]  # its draft failed: not run
    assert server.chat_requests[0].body["max_tokens"] == 64
    *_, status, err = ledger(gdb)["draft"]
    assert status == "failed" and "HTTP 400" in err
