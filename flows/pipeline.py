"""The steps every partition of one side goes through, shared by the single-key flows and the
batch flow: observe the source row -> normalize -> embed (-> match, in flows/matching.py).

The single-key flows call every step and let Prefect's cache make unchanged steps free; the
batch flow plans first from the bulk status query and only submits missing, stale and failed
keys, because even a cache hit costs a task run (~15 ms) and 10k of them are not free.
Materializations are recorded per batch in one round trip (`record_many`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from prefect.context import get_run_context

from talentflow.db import connect
from talentflow.embeddings import EmbedderSettings
from talentflow.llm.settings import LLMSettings
from talentflow.partitions import (
    Record,
    current_inputs,
    data_version,
    observe,
    record_many,
    registry,
    status,
)
from talentflow.partitions.errors import InvalidPartitionKey
from talentflow.talent import store
from talentflow.talent.entities import Entity
from talentflow.talent.profile import NormalizedProfile
from tasks import assets
from tasks.embed import embed_batch
from tasks.normalize import normalize_batch

# Keys per task run. LLM calls go in small batches so one bad answer or a budget stop costs
# little; embedding batches are larger because the encoder sorts a batch by length, and
# fewer, fuller batches pad less (the encoder is most of the pipeline's time).
DEFAULT_BATCH_SIZE = 64
# Progress of long runs, one line per batch; front doors (the demo) decide whether to show it.
progress = logging.getLogger("talentflow.progress")
DEFAULT_EMBED_BATCH_SIZE = 256


@dataclass
class StepReport:
    ran: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    up_to_date: int = 0


@dataclass
class SideReport:
    kind: str
    normalize: StepReport = field(default_factory=StepReport)
    embed: StepReport = field(default_factory=StepReport)

    @property
    def failed(self) -> dict[str, str]:
        return {**self.normalize.failed, **self.embed.failed}


def chunks(keys: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(keys), size):
        yield list(keys[start:start + size])


def flow_run_id() -> str | None:
    """The current Prefect flow run id, recorded with every materialization for lineage."""
    try:
        ctx = get_run_context()
    except RuntimeError:
        return None
    run = getattr(ctx, "flow_run", None)
    return str(run.id) if run else None


def register_sources(ent: Entity, keys: Sequence[str] | None) -> dict[str, store.SourceRow]:
    """Read source rows, register their keys in the dynamic set, observe their data versions.

    Asking for a key that has no row fails at once with the set, the key and the reason.
    """
    with connect() as conn:
        rows = store.load_sources(conn, ent, keys)
        found = {row.id: row for row in rows}
        for key in keys or ():
            if key not in found:
                raise InvalidPartitionKey(
                    ent.table, key, f"no {ent.kind} row with this id in table {ent.table!r}"
                )
        registry.add_keys(conn, ent.table, list(found))
        observe(conn, assets.get(ent.source_asset),
                [(row.id, row.content_hash) for row in rows])
    return found


@dataclass
class Work:
    """What one step will do: the keys to run, what each consumes, which failed last time."""

    keys: list[str]
    inputs: dict[str, dict]
    failed_before: set[str]
    up_to_date: int


def plan_step(asset_name: str, keys: Sequence[str], *, plan_first: bool) -> Work:
    """Bulk status of the keys (one query); with `plan_first`, drop the up-to-date ones."""
    asset = assets.get(asset_name)
    with connect() as conn:
        states = {s.key: s.status for s in status(conn, asset, list(keys))}
        todo = [k for k in keys if states[k] in ("missing", "stale", "failed")] \
            if plan_first else list(keys)
        inputs = current_inputs(conn, asset, todo)
    failed = {k for k in todo if states[k] == "failed"}
    return Work(todo, inputs, failed, len(keys) - len(todo))


def upstream_versions(work: Work, batch: Sequence[str]) -> dict[str, dict[str, str]]:
    """The cache key's view of a batch's inputs: {key: {"asset[key]": data version}}."""
    return {k: {f"{up}[{uk}]": v for (up, uk), v in work.inputs[k].items()} for k in batch}


def record(asset_name: str, work: Work, started_at: datetime, *,
           succeeded: dict[str, tuple[str, dict]], failed: dict[str, str]) -> None:
    """One round trip: a materialization per key, materialized or failed, with its inputs."""
    run_id = flow_run_id()
    rows = [Record(k, version, inputs=work.inputs[k], metadata=meta, flow_run_id=run_id,
                   started_at=started_at) for k, (version, meta) in succeeded.items()]
    rows += [Record(k, None, inputs=work.inputs[k], status="failed", error=error[:4000],
                    flow_run_id=run_id, started_at=started_at) for k, error in failed.items()]
    with connect() as conn:
        record_many(conn, assets.get(asset_name), rows)


def run_batch(task, asset_name: str, code_version: str, work: Work, batch: list[str],
              report: StepReport, **params):
    """Run one batch task over `batch`; returns (its state, when it started).

    A failed task fails every key of the batch, recorded at once; the state is then None.
    A key that failed last time is retried for real, never served from the cache.
    """
    started_at = datetime.now(UTC)
    state = task.with_options(refresh_cache=bool(work.failed_before & set(batch)))(
        asset=asset_name, code_version=code_version, keys=batch,
        upstream_versions=upstream_versions(work, batch), return_state=True, **params,
    )
    done = len(report.ran) + len(report.cached) + len(report.failed) + len(batch)
    progress.info("%s: %d/%d keys%s", asset_name, done, len(work.keys),
                  " (cached)" if state.name == "Cached" else "")
    if state.is_failed():
        errors = {k: state_error(state) for k in batch}
        record(asset_name, work, started_at, succeeded={}, failed=errors)
        report.failed.update(errors)
        return None, started_at
    return state, started_at


def normalize_step(ent: Entity, sources: dict[str, store.SourceRow], keys: Sequence[str], *,
                   plan_first: bool, llm: LLMSettings, batch_size: int) -> StepReport:
    asset = assets.get(ent.normalized_asset)
    work = plan_step(asset.name, keys, plan_first=plan_first)
    report = StepReport(up_to_date=work.up_to_date)
    for batch in chunks(work.keys, batch_size):
        state, started_at = run_batch(
            normalize_batch, asset.name, asset.code_version, work, batch, report,
            kind=ent.kind, texts={k: sources[k].text for k in batch}, llm=llm,
        )
        if state is None:
            continue
        result = state.result()
        (report.cached if state.name == "Cached" else report.ran).extend(result["profiles"])
        items, succeeded = [], {}
        for key, out in result["profiles"].items():
            profile = NormalizedProfile.model_validate(out["profile"])
            version = data_version(profile.model_dump())
            items.append((key, profile, out["provider"], out["model"], version))
            succeeded[key] = (version, normalize_metadata(out))
        with connect() as conn:
            store.upsert_normalized(conn, ent, items)
        record(asset.name, work, started_at, succeeded=succeeded, failed=result["errors"])
        report.failed.update(result["errors"])
        if result.get("budget_stop"):
            # The budget is spent: the remaining keys fail with its message, uncalled.
            rest = [k for k in work.keys if k not in report.ran and k not in report.cached
                    and k not in report.failed]
            errors = dict.fromkeys(rest, result["budget_stop"])
            record(asset.name, work, datetime.now(UTC), succeeded={}, failed=errors)
            report.failed.update(errors)
            break
    return report


def embed_step(ent: Entity, keys: Sequence[str], *, plan_first: bool,
               embedder: EmbedderSettings, batch_size: int) -> StepReport:
    asset = assets.get(ent.vectors_asset)
    with connect() as conn:
        profiles = store.load_profiles(conn, ent, keys)
    keys = [k for k in keys if k in profiles]  # without a profile there is nothing to embed
    work = plan_step(asset.name, keys, plan_first=plan_first)
    report = StepReport(up_to_date=work.up_to_date)
    for batch in chunks(work.keys, batch_size):
        state, started_at = run_batch(
            embed_batch, asset.name, asset.code_version, work, batch, report,
            texts={k: profiles[k][0].embedding_text() for k in batch},
            embedder=embedder.__dict__,
        )
        if state is None:
            continue
        vectors = state.result()
        (report.cached if state.name == "Cached" else report.ran).extend(batch)
        matrix = np.asarray([vectors[k] for k in batch], dtype=np.float32)
        versions = [data_version(row.tobytes()) for row in matrix]
        with connect() as conn:
            store.upsert_vectors(conn, ent, batch, matrix, embedder.model, versions)
        meta = {"model": embedder.model, "dims": int(matrix.shape[1])}
        record(asset.name, work, started_at,
               succeeded={k: (v, meta) for k, v in zip(batch, versions, strict=True)},
               failed={})
    return report


def normalize_metadata(out: dict) -> dict:
    return {"provider": out["provider"], "model": out["model"], "usage": out["usage"],
            "attempts": out["attempts"], "latency_s": round(out["latency_s"], 4)}


def state_error(state) -> str:
    """The failed task's exception as one line, for the materialization record."""
    try:
        state.result()
    except BaseException as exc:  # noqa: BLE001 - result() re-raises the task's own error
        return f"{type(exc).__name__}: {exc}"
    return state.message or state.name
