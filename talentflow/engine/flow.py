"""The one entry point: the `materialize` Prefect flow, and `materialize()` to call it.

Every front door goes through here: Python, `talentflow materialize` / `backfill`, the REST
API, deployments (`prefect deployment run 'materialize/…' --param assets='["x"]'
--param partition_key=k`), and the application's single-key flows.

    report = materialize(defs, ["report+upstream"], only=("missing", "stale", "failed"))

Each asset batch runs as a Prefect task named `<asset>[<key or first…last>]`; the run gets
a `materialize-run` table artifact (ran / cached / up to date / failed / blocked / held per
asset) and single-key runs are tagged `partition:<set>/<key>`.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from talentflow.engine import compute as computing
from talentflow.engine.artifacts import publish_check_artifact, publish_run_artifacts
from talentflow.engine.checks import AssetCheck
from talentflow.engine.context import BatchContext
from talentflow.engine.definitions import Definitions, load_definitions
from talentflow.engine.run import (
    LEASE_EXPIRED,
    RUN_STATES,
    SELECTABLE,
    AssetReport,
    KeySelection,
    Run,
    RunReport,
    candidate_keys,
    observe_all,
    run_check,
    sources_of,
    wanted,
)
from talentflow.partitions.assets import Asset
from talentflow.partitions.status import counts

FLOW_NAME = "materialize"
CHECKS_FLOW_NAME = "run-checks"
# The Definitions objects of in-process calls (Python API, CLI): flow parameters must be
# JSON, so the call registers its object here and passes `definitions="in-process:<id>"`; a
# deployment run names a module instead. (Not a context variable: Prefect may run a flow's
# body with another thread's context.)
_IN_PROCESS: dict[str, Definitions] = {}
_IN_PROCESS_PREFIX = "in-process:"


def _definitions(spec: str | None) -> Definitions:
    if spec and spec.startswith(_IN_PROCESS_PREFIX):
        try:
            return _IN_PROCESS[spec]
        except KeyError:
            raise ValueError(f"definitions {spec!r} belong to a call that has ended (an "
                             "in-process run cannot be retried from the Prefect UI)") from None
    return load_definitions(spec)

log = logging.getLogger("talentflow.engine")


def _compute_task_of(a: Asset) -> Any:
    """The Prefect task computing one batch of `a`. Caching is per partition (cache.py), so
    Prefect's own task cache is off; retries are per key (compute.py)."""

    @task(name=a.name, task_run_name=a.name + "[{label}]", cache_policy=NO_CACHE,
          persist_result=False)
    def compute(ctx: BatchContext, upstream: dict[str, dict[str, Any]], label: str
                ) -> dict[str, Any]:
        with ctx.connected():
            return computing.run_batch(a, ctx, upstream)

    return compute


def _compute_task(a: Asset) -> Callable[..., Any]:
    compute = _compute_task_of(a)

    def call(ctx: BatchContext, upstream: dict[str, dict[str, Any]], label: str) -> Any:
        # quote(): Prefect would otherwise walk every upstream value looking for futures.
        return compute(ctx=quote(ctx), upstream=quote(upstream), label=label)

    return call


DASK_ADDRESS_ENV = "TALENTFLOW_DASK_ADDRESS"


def dask_runner(workers: int | None = None, address: str | None = None) -> Any:
    """A prefect-dask task runner: the cluster at `address` (default $TALENTFLOW_DASK_ADDRESS),
    else a local cluster of `workers` processes (one thread each)."""
    from prefect_dask import DaskTaskRunner

    address = address or os.environ.get(DASK_ADDRESS_ENV) or None
    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": max(1, workers or 1),
                                          "threads_per_worker": 1, "processes": True,
                                          "dashboard_address": None,
                                          "env": _worker_env()})


def _worker_env() -> dict[str, str]:
    """The Prefect API for the local cluster's workers. On the ephemeral API nothing names
    it, and each worker process would start a temporary server of its own (seconds each, and
    task runs recorded where no one looks); give them the one this process started."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        return {}
    with get_client(sync_client=True) as client:
        return {"PREFECT_API_URL": str(client.api_url).rstrip("/")}


def _submitter(runner: Any) -> Callable[[Asset], Callable[..., Any]]:
    tasks: dict[str, Any] = {}

    def factory(a: Asset) -> Callable[..., Any]:
        compute = tasks.setdefault(a.name, _compute_task_of(a))

        def submit(ctx: BatchContext, upstream: dict[str, dict[str, Any]], label: str) -> Any:
            # Not quote()d: the runner hands parameters to the task as they are.
            return runner.submit(compute, parameters={"ctx": ctx, "upstream": upstream,
                                                      "label": label})

        return submit

    return factory


def _check_task(check: AssetCheck) -> Callable[..., Any]:
    """The Prefect task evaluating one check over one batch: `check:<name>[<keys>]`."""

    @task(name=f"check:{check.name}", task_run_name=f"check:{check.name}[{{label}}]",
          cache_policy=NO_CACHE, persist_result=False)
    def evaluate(asset: Asset, ctx: BatchContext, values: dict[str, Any],
                 upstream: dict[str, dict[str, Any]], label: str) -> dict[str, Any]:
        return run_check(check, asset, ctx, values, upstream)

    def call(asset: Asset, ctx: BatchContext, values: dict[str, Any],
             upstream: dict[str, dict[str, Any]], label: str) -> Any:
        return evaluate(asset=quote(asset), ctx=quote(ctx), values=quote(values),
                        upstream=quote(upstream), label=label)

    return call


def _selection(partition_key: str | None, partition_keys: Sequence[str] | None,
               key_from: str | None, key_to: str | None, prefix: str | None,
               partition_set: str | None, only: Sequence[str] | None) -> KeySelection:
    keys = list(partition_keys or []) + ([partition_key] if partition_key is not None else [])
    states = frozenset(only) if only else RUN_STATES
    bad = states - SELECTABLE
    if bad:
        raise ValueError(f"unknown state(s) {sorted(bad)} in only=; expected some of "
                         f"{sorted(SELECTABLE)}")
    return KeySelection(keys=tuple(keys) if keys else None, key_from=key_from, key_to=key_to,
                        prefix=prefix, partition_set=partition_set, only=states)


def pending(defs: Definitions, assets: Sequence[Asset], sel: KeySelection, *,
            observe: bool = True, runnable_only: bool = False) -> dict[str, int]:
    """How many keys of each selected asset a run would compute now (observing sources
    first): one bulk status query per asset, no Prefect at all.

    `runnable_only` (the reconcile loop): leave out missing keys that such a run would only
    report blocked — an upstream key (read one-to-one) with no data that the run will not
    produce either: a source row that does not exist, a failed key the run does not retry,
    an upstream outside the run. Otherwise a day without sales would launch a run every
    evaluation, forever."""
    from talentflow.db import connect
    from talentflow.partitions.status import status

    out: dict[str, int] = {}
    with connect() as conn:
        if observe:
            observe_all(conn, sources_of(defs, assets), defs.resource_values)
        cand, roots = candidate_keys(conn, assets, sel)
        for a in assets:
            if a.source or cand[a.name] == []:
                continue
            states = sel.only if a.name in roots else RUN_STATES
            # Counts (one grouped query) unless failed keys must be told apart by reason.
            tally = counts(conn, a, cand[a.name])
            n = sum(tally[s] for s in states if s in tally)
            if LEASE_EXPIRED in states and "failed" not in states and tally["failed"]:
                n += sum(wanted(s, states) for s in status(conn, a, cand[a.name])
                         if s.status == "failed")
            if runnable_only and "missing" in states and tally["missing"]:
                n -= _blocked_missing(conn, a, cand[a.name], assets, sel, roots)
            if n:
                out[a.name] = n
    return out


def _blocked_missing(conn: Any, a: Asset, keys: list[str] | None, run: Sequence[Asset],
                     sel: KeySelection, roots: set[str]) -> int:
    """Missing keys of `a` a run of `run` would block (see pending's runnable_only)."""
    from talentflow.partitions.assets import Identity
    from talentflow.partitions.status import _selection

    in_run = {b.name: b for b in run}
    ups, will_fill, will_retry = [], [], []
    for d in a.deps:
        up = d.resolved
        # One-to-one on the same set: the upstream key is the key itself.
        if up is None or not isinstance(d.mapping, Identity) \
                or up.partitions.name != a.partitions.name:
            continue
        states = sel.only if up.name in roots else RUN_STATES
        ups.append(up.name)
        will_fill.append(up.name in in_run and not up.source and "missing" in states)
        will_retry.append(up.name in in_run and not up.source and "failed" in states)
    if not ups:
        return 0
    selection, extra = _selection(conn, a, keys)
    (n,) = conn.execute(
        f"""
        SELECT count(*) FROM ({selection}) s
        WHERE NOT EXISTS (SELECT 1 FROM partition_latest l
                          WHERE l.asset = %(asset)s AND l.partition_key = s.key)
          AND NOT EXISTS (SELECT 1 FROM partition_claims c
                          WHERE c.asset = %(asset)s AND c.partition_key = s.key)
          AND EXISTS (
              SELECT 1 FROM unnest(%(ups)s::text[], %(fill)s::bool[], %(retry)s::bool[])
                  AS u(up, fill, retry)
              LEFT JOIN partition_latest p ON p.asset = u.up AND p.partition_key = s.key
              WHERE p.success_id IS NULL
                AND NOT (u.fill AND p.asset IS NULL)
                AND NOT (u.retry AND p.status = 'failed'))
        """,
        {**extra, "asset": a.name, "ups": ups, "fill": will_fill, "retry": will_retry},
        prepare=False).fetchone()
    return int(n)


def _tag_run(tags: list[str]) -> None:
    from prefect.client.orchestration import get_client
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None:
        return
    try:
        with get_client(sync_client=True) as client:
            client.update_flow_run(ctx.flow_run.id,
                                   tags=sorted(set(ctx.flow_run.tags or []) | set(tags)))
    except Exception:  # noqa: BLE001 - tags are for people; an unreachable API must not fail
        pass


def _dask_workers(runner: Any, asked: int | None) -> int:
    try:
        return max(1, len(runner._client.scheduler_info()["workers"]))
    except Exception:  # noqa: BLE001 - the count only sizes the window of batches in flight
        return max(1, asked or 1)


def _progress_log(msg: str, *args: Any) -> None:
    try:
        from prefect.logging import get_run_logger

        get_run_logger().info(msg, *args)
    except Exception:  # noqa: BLE001 - outside a run context
        log.info(msg, *args)


def _flow_run_name() -> str:
    from prefect.runtime import flow_run

    p = flow_run.parameters or {}
    what = ",".join(p.get("assets") or ["all"])
    key = p.get("partition_key")
    keys = p.get("partition_keys") or []
    if key is not None and not keys:
        return f"materialize-{what}-{key}"
    if keys or key is not None:
        return f"materialize-{what}-{len(keys) + (key is not None)}-keys"
    return f"materialize-{what}"


def run_in_flow(
    defs: Definitions,
    assets: Sequence[str] | None = None,
    *,
    partition_key: str | None = None,
    partition_keys: Sequence[str] | None = None,
    key_from: str | None = None,
    key_to: str | None = None,
    prefix: str | None = None,
    partition_set: str | None = None,
    only: Sequence[str] | None = None,
    upstream: bool = False,
    downstream: bool = False,
    workers: int | None = None,
    dask_address: str | None = None,
    sources_observed: bool = False,
) -> RunReport:
    """The materialize body, for use inside any running flow (the `materialize` flow, or an
    application's own single-key flow): tag, run, publish artifacts, call the run hooks.

    `workers` / `dask_address` (or $TALENTFLOW_DASK_ADDRESS): compute the batches on Dask
    (prefect-dask), several at once; reads and records stay in this process."""
    from prefect.context import FlowRunContext

    defs = defs.bind()  # resources resolved once, for this run's code versions and compute
    selected = defs.select(assets, upstream=upstream, downstream=downstream)
    sel = _selection(partition_key, partition_keys, key_from, key_to, prefix, partition_set,
                     only)
    ctx = FlowRunContext.get()
    run_id = str(ctx.flow_run.id) if ctx and ctx.flow_run else None
    if sel.keys is not None and len(sel.keys) == 1:
        sets = sorted({a.partitions.name for a in selected if not a.source})
        _tag_run([f"partition:{s}/{sel.keys[0]}" for s in sets[:1]])
    if workers or dask_address or os.environ.get(DASK_ADDRESS_ENV):
        with dask_runner(workers, dask_address) as runner:
            slots = 2 * _dask_workers(runner, workers)
            _progress_log("computing on Dask: %d batches in flight", slots)
            report = Run(defs, flow_run_id=run_id, check_task_factory=_check_task,
                         submit_factory=_submitter(runner), in_flight=slots,
                         observe_sources=not sources_observed).execute(selected, sel)
    else:
        report = Run(defs, flow_run_id=run_id, task_factory=_compute_task,
                     check_task_factory=_check_task,
                     observe_sources=not sources_observed).execute(selected, sel)
    publish_run_artifacts(defs, report)
    for hook in defs.run_hooks:
        hook(report)
    summary = ", ".join(f"{r.asset}: {len(r.ran)} ran, {len(r.cached)} cached, "
                        f"{len(r.failed)} failed"
                        + (f", {len(r.check_failed)} failed a blocking check"
                           if r.check_failed else "")
                        for r in report.assets.values()
                        if r.ran or r.cached or r.failed) or "nothing to do"
    try:
        from prefect.logging import get_run_logger

        get_run_logger().info("materialized: %s", summary)
    except Exception:  # noqa: BLE001 - outside a run context
        log.info("materialized: %s", summary)
    return report


@flow(name=FLOW_NAME, flow_run_name=_flow_run_name)
def materialize_flow(
    assets: list[str] | None = None,
    partition_key: str | None = None,
    partition_keys: list[str] | None = None,
    key_from: str | None = None,
    key_to: str | None = None,
    prefix: str | None = None,
    partition_set: str | None = None,
    only: list[str] | None = None,
    upstream: bool = False,
    downstream: bool = False,
    definitions: str | None = None,
    workers: int | None = None,
    dask_address: str | None = None,
    sources_observed: bool = False,
) -> dict[str, Any]:
    """Bring the selected partitions of the selected assets up to date.

    assets: names, optionally `+name` / `name+` (with upstream / downstream); default all.
    partition_key / partition_keys / key_from..key_to / prefix: which keys (default all);
    only: which states run (default missing, stale, failed); definitions: `module:attr`;
    workers: compute on a local Dask cluster of that many processes; dask_address: on the
    Dask cluster at that address (tcp://host:8786).
    sources_observed: the caller observed the source assets a moment ago (materialize()
    does, to validate keys): plan on that instead of observing them again.
    """
    defs = _definitions(definitions)
    return run_in_flow(
        defs, assets, partition_key=partition_key, partition_keys=partition_keys,
        key_from=key_from, key_to=key_to, prefix=prefix, partition_set=partition_set,
        only=only, upstream=upstream, downstream=downstream, workers=workers,
        dask_address=dask_address, sources_observed=sources_observed,
    ).to_dict()


def report_from_dict(data: dict[str, Any]) -> RunReport:
    names = {f.name for f in fields(AssetReport)}
    return RunReport(
        data.get("flow_run_id"),
        {a: AssetReport(**{k: v for k, v in r.items() if k in names})
         for a, r in data.get("assets", {}).items()},
        data.get("observed", {}), data.get("seconds", 0.0),
    )


def materialize(
    defs: Definitions | str | None = None,
    select: str | Sequence[str] | None = None,
    *,
    keys: Sequence[str] | None = None,
    partition_key: str | None = None,
    key_from: str | None = None,
    key_to: str | None = None,
    prefix: str | None = None,
    partition_set: str | None = None,
    only: Sequence[str] = ("missing", "stale", "failed"),
    upstream: bool = False,
    downstream: bool = False,
    skip_if_up_to_date: bool = True,
    workers: int | None = None,
    dask_address: str | None = None,
) -> RunReport:
    """Run the `materialize` flow in this process over a selection.

    Keys are validated before any flow run starts (InvalidPartitionKey). With
    `skip_if_up_to_date` (default) a selection with nothing to do returns at once from the
    bulk status, without a flow run.
    """
    from talentflow.db import connect
    from talentflow.engine.run import root_keys

    if not isinstance(defs, Definitions):
        defs = load_definitions(defs)
    names = [select] if isinstance(select, str) else (list(select) if select else None)
    bound = defs.bind()
    selected = bound.select(names, upstream=upstream, downstream=downstream)
    sel = _selection(partition_key, keys, key_from, key_to, prefix, partition_set, only)
    with connect() as conn:
        # Sources first: a row ingested a moment ago registers its key before validation.
        # The run then plans on this observation instead of hashing the sources again.
        observed = observe_all(conn, sources_of(bound, selected), bound.resource_values)
        if sel.narrowed:
            root_keys(conn, [a for a in selected if not a.source] or selected, sel)
    if skip_if_up_to_date and not pending(bound, selected, sel, observe=False):
        return RunReport(None)
    spec = f"{_IN_PROCESS_PREFIX}{uuid.uuid4().hex}"
    _IN_PROCESS[spec] = defs
    try:
        result = materialize_flow(
            assets=names, partition_key=partition_key, partition_keys=list(keys or []) or None,
            key_from=key_from, key_to=key_to, prefix=prefix, partition_set=partition_set,
            only=list(only), upstream=upstream, downstream=downstream, definitions=spec,
            workers=workers, dask_address=dask_address, sources_observed=True,
        )
    finally:
        _IN_PROCESS.pop(spec, None)
    report = report_from_dict(result)
    report.observed = report.observed or observed
    return report


def _checks_flow_run_name() -> str:
    from prefect.runtime import flow_run

    p = flow_run.parameters or {}
    key = p.get("partition_key")
    return f"run-checks-{','.join(p.get('checks') or ['all'])}" + (f"-{key}" if key else "")


@flow(name=CHECKS_FLOW_NAME, flow_run_name=_checks_flow_run_name)
def checks_flow(
    checks: list[str] | None = None,
    partition_key: str | None = None,
    partition_keys: list[str] | None = None,
    key_from: str | None = None,
    key_to: str | None = None,
    definitions: str | None = None,
) -> dict[str, Any]:
    """Re-run asset checks alone (no materialization) on the current data of the keys.

    checks: names (default all); partition_key / partition_keys / key_from..key_to: which
    keys of the checked assets (default every materialized key)."""
    from prefect.context import FlowRunContext

    defs = _definitions(definitions).bind()
    chosen = [defs.get_check(n) for n in checks] if checks else defs.checks
    sel = _selection(partition_key, partition_keys, key_from, key_to, None, None, None)
    ctx = FlowRunContext.get()
    run_id = str(ctx.flow_run.id) if ctx and ctx.flow_run else None
    report = Run(defs, flow_run_id=run_id, check_task_factory=_check_task
                 ).execute_checks(chosen, sel)
    publish_check_artifact(defs, report)
    return report.to_dict()


def run_checks(defs: Definitions | str | None = None, checks: Sequence[str] | None = None,
               *, keys: Sequence[str] | None = None, key_from: str | None = None,
               key_to: str | None = None) -> RunReport:
    """Run the `run-checks` flow in this process (see checks_flow)."""
    from talentflow.db import connect
    from talentflow.engine.run import root_keys

    if not isinstance(defs, Definitions):
        defs = load_definitions(defs)
    bound = defs.bind()
    chosen = [bound.get_check(n) for n in checks] if checks else bound.checks
    sel = _selection(None, keys, key_from, key_to, None, None, None)
    if sel.narrowed:  # unknown names and invalid keys fail before any flow run
        with connect() as conn:
            for name in dict.fromkeys(c.asset_name for c in chosen):
                root_keys(conn, [bound.get(name)], sel)
    spec = f"{_IN_PROCESS_PREFIX}{uuid.uuid4().hex}"
    _IN_PROCESS[spec] = defs
    try:
        result = checks_flow(checks=list(checks) if checks else None,
                             partition_keys=list(keys) if keys else None, key_from=key_from,
                             key_to=key_to, definitions=spec)
    finally:
        _IN_PROCESS.pop(spec, None)
    return report_from_dict(result)
