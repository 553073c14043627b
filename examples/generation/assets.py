"""The three stages: draft -> essay -> evaluation, one generation per partition key.

Each stage reads its template by projecting the key on its template dimension, and its input
by projecting the key on its parent's dimensions (a draft reads its combo): the engine hands
the function the parent's files, records the parent version it read, and makes the key stale
when that parent, the template or the combo changes. No key is ever rebuilt from strings.

Per batch: render every prompt, call the model (in parallel for a network provider), write
the ledger rows, and return each key's files (store.py) or its error. One key's failure (a
call that gave up, an answer that does not parse) is that key's alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from examples.generation.costs import CallLog
from examples.generation.evaluation import ScoreParseError, parse_scores
from examples.generation.llm import client as completion_client
from examples.generation.partitions import (
    MODEL_DIM,
    PARENT,
    PARENT_DIMS,
    SETS,
    TEMPLATE_DIM,
)
from examples.generation.prompts import Prompt, TemplateError, concepts_text, render
from examples.generation.store import STORES, files, gen_id
from examples.generation.templates import combos_source, template_sources
from talentflow.engine import Dep, DimensionProjection, KeyFailed, Output, asset
from talentflow.engine.context import BatchContext
from talentflow.llm.completion import Completion, CompletionClient, CompletionError

# Keys per Prefect task run: a handful of task runs per stage for a cohort of ~100 keys.
BATCH = 32


def _call_all(client: CompletionClient, requests: Mapping[str, tuple[str, str]],
              concurrency: int) -> dict[str, tuple[datetime, Completion | CompletionError]]:
    """{key: (called at, answer or error)} for {key: (prompt, model)}."""

    def one(item: tuple[str, tuple[str, str]]
            ) -> tuple[str, tuple[datetime, Completion | CompletionError]]:
        key, (prompt, model) = item
        called_at = datetime.now(UTC)
        try:
            return key, (called_at, client.complete(prompt, model=model))
        except CompletionError as error:
            return key, (called_at, error)

    if client.provider == "offline" or concurrency == 1 or len(requests) < 2:
        return dict(map(one, requests.items()))
    with ThreadPoolExecutor(max_workers=min(concurrency, len(requests))) as pool:
        return dict(pool.map(one, requests.items()))


def _text_parse(answer: str, prompt: Prompt) -> dict[str, Any]:
    text = answer.strip()
    return {"text": text, "words": len(text.split())}


def _score_parse(answer: str, prompt: Prompt) -> dict[str, Any]:
    return parse_scores(answer, prompt.criteria).to_json()


def generate(stage: str, ctx: BatchContext, template: Mapping[str, str],
             inputs: Mapping[str, str], settings: Any,
             parse: Callable[[str, Prompt], dict[str, Any]]) -> dict[str, Any]:
    """One batch of `stage`: `inputs[key]` fills the template's placeholder."""
    out: dict[str, Any] = {}
    requests: dict[str, tuple[str, str]] = {}
    rendered: dict[str, Prompt] = {}
    for key in ctx.keys:
        dims = ctx.partition_value(key)
        try:
            rendered[key] = render(stage, dims[TEMPLATE_DIM[stage]], template[key],
                                           inputs[key])
        except TemplateError as error:
            out[key] = KeyFailed(str(error))
            continue
        requests[key] = (rendered[key].text, dims[MODEL_DIM[stage]])
    client = completion_client(settings)
    calls = CallLog(stage, ctx.flow_run_id)
    try:
        answers = _call_all(client, requests, settings.concurrency)
        for key, (called_at, answer) in answers.items():
            out[key] = _result(stage, ctx, key, rendered[key], called_at, answer, calls, parse)
    finally:
        calls.write(ctx.conn)
        close = getattr(client, "close", None)
        if close is not None:
            close()
    return out


def _result(stage: str, ctx: BatchContext, key: str, prompt: Prompt,
            called_at: datetime, answer: Completion | CompletionError, calls: CallLog,
            parse: Callable[[str, Prompt], dict[str, Any]]) -> Output | KeyFailed:
    dims = ctx.partition_value(key)
    model = dims[MODEL_DIM[stage]]
    if isinstance(answer, CompletionError):
        calls.add(key, provider=answer.provider, model=model, usage=answer.usage,
                  called_at=called_at, latency_s=None, attempts=answer.attempts,
                  error=answer.reason)
        return KeyFailed(str(answer), metadata={"gen_id": gen_id(key),
                                                "raw_answer": answer.raw,
                                                "attempts": answer.attempts})
    try:
        parsed = parse(answer.text, prompt)
        error = None
    except ScoreParseError as exc:
        parsed, error = None, f"cannot parse the evaluator's answer: {exc}"
    cost = calls.add(key, provider=answer.provider, model=model, usage=answer.usage,
                     called_at=called_at, latency_s=answer.latency_s,
                     attempts=answer.attempts, error=error)
    tokens = {"prompt": answer.usage.prompt_tokens, "completion": answer.usage.completion_tokens,
              "cached": answer.usage.cached_tokens}
    if error is not None:
        return KeyFailed(f"{stage} {gen_id(key)}: {error}", metadata={
            "gen_id": gen_id(key), "raw_answer": answer.text, "tokens": tokens,
            "cost_usd": None if cost is None else float(cost)})
    parent = PARENT.get(stage)
    parent_key = SETS[parent].key(*(dims[d] for d in PARENT_DIMS[stage])) if parent else None
    metadata = {
        "gen_id": gen_id(key), "stage": stage, "key": key, "dimensions": dims,
        "parent_stage": parent, "parent_gen_id": gen_id(parent_key) if parent_key else None,
        "template": dims[TEMPLATE_DIM[stage]], "provider": answer.provider, "model": model,
        "tokens": tokens, "cost_usd": None if cost is None else float(cost),
        "latency_s": round(answer.latency_s, 4), "attempts": answer.attempts,
        "generated_at": called_at.isoformat(), "flow_run_id": ctx.flow_run_id,
    }
    return Output(files(prompt.text, answer.text, parsed, metadata), metadata={
        "gen_id": metadata["gen_id"], "parent_gen_id": metadata["parent_gen_id"],
        "model": model, "prompt_tokens": tokens["prompt"],
        "completion_tokens": tokens["completion"], "cost_usd": metadata["cost_usd"]})


def _template_dep(stage: str) -> Dep:
    return Dep(template_sources[stage], DimensionProjection(TEMPLATE_DIM[stage]),
               param="template")


def _parent_dep(stage: str) -> Dep:
    return Dep(PARENT[stage], DimensionProjection(*PARENT_DIMS[stage]), param="parent")


@asset(partitions=SETS["draft"], batch_size=BATCH, resources=("llm",), store=STORES["draft"],
       deps=[Dep(combos_source, DimensionProjection("combo"), param="combo"),
             _template_dep("draft")])
def draft(ctx: BatchContext, combo: dict[str, Any], template: dict[str, str],
          llm: Any) -> dict[str, Any]:
    """A draft about a combo's concepts, from a draft template, by the key's draft model."""
    inputs = {k: concepts_text(combo[k]["concepts"]) for k in ctx.keys}
    return generate("draft", ctx, template, inputs, llm, _text_parse)


@asset(partitions=SETS["essay"], batch_size=BATCH, resources=("llm",), store=STORES["essay"],
       deps=[_parent_dep("essay"), _template_dep("essay")])
def essay(ctx: BatchContext, parent: dict[str, Any], template: dict[str, str],
          llm: Any) -> dict[str, Any]:
    """An essay written from its parent draft (the draft's parsed text)."""
    inputs = {k: parent[k]["parsed.json"]["text"] for k in ctx.keys}
    return generate("essay", ctx, template, inputs, llm, _text_parse)


@asset(partitions=SETS["evaluation"], batch_size=BATCH, resources=("llm",),
       store=STORES["evaluation"], deps=[_parent_dep("evaluation"), _template_dep("evaluation")])
def evaluation(ctx: BatchContext, parent: dict[str, Any], template: dict[str, str],
               llm: Any) -> dict[str, Any]:
    """Scores of its parent essay, parsed from the evaluator's answer."""
    inputs = {k: parent[k]["parsed.json"]["text"] for k in ctx.keys}
    return generate("evaluation", ctx, template, inputs, llm, _score_parse)


STAGE_ASSETS = [draft, essay, evaluation]
