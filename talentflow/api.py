"""REST API over partition status, lineage and LLM costs, and a launch endpoint
(`talentflow api`).

Reads are the same queries as the CLI: every answer is one bulk SQL query, so asking for the
status of 100k partitions is as cheap here as in `talentflow status`. `POST /materialize`
checks the selection, then creates a flow run of the `materialize` deployment.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from functools import cache
from typing import Annotated, Any

import psycopg
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Response
from pydantic import BaseModel, Field

from talentflow.db import connect
from talentflow.engine.definitions import Definitions, UnknownAsset, load_definitions
from talentflow.partitions import DynamicPartitions, counts, status
from talentflow.partitions.materializations import history, latest
from talentflow.partitions.status import STATES, iter_status, page

DEPLOYMENT_ENV = "TALENTFLOW_MATERIALIZE_DEPLOYMENT"
DEFAULT_DEPLOYMENT = "materialize/materialize"
TOKEN_ENV = "TALENTFLOW_API_TOKEN"
# "1": reads need the token too (default: reads are open, changes need it).
PROTECT_READS_ENV = "TALENTFLOW_API_PROTECT_READS"

@asynccontextmanager
async def _lifespan(_: FastAPI) -> AsyncIterator[None]:
    """Warm up before serving: the definitions, their code versions (hashing the modules the
    assets reach) and the database connection, so the first request costs what any does."""
    import asyncio

    def warm() -> None:
        try:
            defs = definitions()
            for a in defs.assets:
                if not a.source:
                    _ = a.code_version
            with connect() as conn:
                conn.execute("SELECT 1")
        except Exception as exc:  # noqa: BLE001 - requests will report it, one by one
            import logging

            logging.getLogger(__name__).warning("API warm-up failed: %s", exc)

    await asyncio.to_thread(warm)
    yield


app = FastAPI(
    title="talentflow",
    description="Per-partition status, lineage and LLM costs of talentflow assets.",
    version="1",
    lifespan=_lifespan,
)


def _check_token(authorization: str | None, *, change: bool) -> None:
    """Changes need `Authorization: Bearer $TALENTFLOW_API_TOKEN` whenever a token is set;
    reads too with TALENTFLOW_API_PROTECT_READS=1. A change with no token configured is
    refused: an open endpoint that starts runs is never the default."""
    expected = os.environ.get(TOKEN_ENV)
    if not change and os.environ.get(PROTECT_READS_ENV) != "1":
        return
    if not expected:
        if change:
            raise HTTPException(401, f"state-changing endpoints need {TOKEN_ENV} to be set on "
                                "the server and sent as a bearer token",
                                headers={"WWW-Authenticate": "Bearer"})
        raise HTTPException(401, f"{PROTECT_READS_ENV}=1 needs {TOKEN_ENV} to be set")
    if authorization != f"Bearer {expected}":
        raise HTTPException(401, "a bearer token is required (Authorization: Bearer <token>)",
                            headers={"WWW-Authenticate": "Bearer"})


def _reader(authorization: Annotated[str | None, Header()] = None) -> None:
    _check_token(authorization, change=False)


def _conn(_: Annotated[None, Depends(_reader)]) -> Iterator[psycopg.Connection]:
    with connect() as conn:
        yield conn


Conn = Annotated[psycopg.Connection, Depends(_conn)]


@cache
def _defs(spec: str) -> Definitions:
    return load_definitions(spec or None).bind()


def definitions() -> Definitions:
    """The project's Definitions, loaded once per process (resources resolved once)."""
    return _defs(os.environ.get("TALENTFLOW_DEFINITIONS", ""))


def _asset(name: str):
    try:
        return definitions().get(name)
    except UnknownAsset as exc:
        raise HTTPException(404, str(exc)) from None


@app.get("/assets")
def list_assets(conn: Conn) -> list[dict[str, Any]]:
    """Every declared asset with its partition set, upstream assets and counts by status."""
    return [
        {
            "name": a.name,
            "partition_set": a.partitions.name,
            "source": a.source,
            "code_version": None if a.source else a.code_version,
            "deps": [{"asset": d.name, "mapping": d.mapping.describe()} for d in a.deps],
            "counts": None if a.source else counts(conn, a),
        }
        for a in definitions().assets
    ]


@app.get("/assets/{name}/status")
def asset_status(
    name: str,
    conn: Conn,
    state: Annotated[list[str] | None, Query(description=f"filter: {', '.join(STATES)}")] = None,
    after: Annotated[str | None, Query(description="the last key of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    propagate: bool = False,
) -> dict[str, Any]:
    """Counts by status, and one page of keys (filtered by `state`, in key order after
    `after`) with the reasons for each; `next_after` continues. With `propagate` (stale
    upstreams count), the whole status is computed and then paged."""
    asset = _asset(name)
    bad = set(state or ()) - set(STATES)
    if bad:
        raise HTTPException(422, f"unknown state(s) {sorted(bad)}; expected {list(STATES)}")
    if propagate:
        # Streamed: every key is counted, only the page is kept.
        tally = {s: 0 for s in STATES}
        selected: list = []
        # Key order: byte order for dynamic sets (any `after` works), the set's own otherwise.
        by_bytes = isinstance(asset.partitions, DynamicPartitions)
        passed = after is None
        for row in iter_status(conn, asset, propagate=True):
            tally[row.status] += 1
            passed = passed or (by_bytes and row.key > after)
            if passed and len(selected) <= limit and (not state or row.status in state):
                selected.append(row)
            passed = passed or row.key == after
    else:
        tally = counts(conn, asset)
        try:
            selected = page(conn, asset, states=state, after=after, limit=limit + 1)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
    more = len(selected) > limit
    selected = selected[:limit]
    return {
        "asset": asset.name,
        "counts": tally,
        "partitions": [
            {"key": r.key, "status": r.status, "reasons": [str(x) for x in r.reasons],
             "reason_kinds": sorted(r.kinds)}
            for r in selected
        ],
        "truncated": more,
        "next_after": selected[-1].key if more and selected else None,
    }


@app.get("/assets/{name}/status.svg", response_class=Response)
def asset_status_picture(
    name: str,
    conn: Conn,
    dim: Annotated[list[str] | None, Query(description="multi keys: two dimensions")] = None,
    where: Annotated[list[str] | None, Query(description="multi keys: DIM=VALUE")] = None,
) -> Response:
    """The status picture (SVG): a calendar for time windows, a grid of two dimensions for
    multi keys, key order otherwise; cells of many keys show their worst state."""
    from talentflow.partitions.picture import status_picture

    asset = _asset(name)
    filters = dict(w.partition("=")[::2] for w in where or [])
    try:
        svg = status_picture(asset.partitions, status(conn, asset), title=asset.name,
                             dims=dim or None, filters=filters)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return Response(svg, media_type="image/svg+xml")


@app.get("/assets/{name}/partitions/{key:path}")
def partition(name: str, key: str, conn: Conn,
              limit: Annotated[int, Query(ge=1, le=200)] = 20) -> dict[str, Any]:
    """One partition: its status and its materializations (lineage), newest first."""
    asset = _asset(name)
    now = latest(conn, asset, key)
    if now is None:
        raise HTTPException(404, f"asset {name!r} has no materialization for key {key!r}")
    key_status = status(conn, asset, [key])[0]
    return {
        "asset": asset.name,
        "key": key,
        "status": key_status.status,
        "reasons": [str(x) for x in key_status.reasons],
        "reason_kinds": sorted(key_status.kinds),
        "materializations": [
            {**asdict(m), "inputs": [
                {"asset": up, "key": str(uk), "data_version": v}
                for (up, uk), v in m.inputs.items()
            ]}
            for m in history(conn, asset, key, limit)
        ],
    }


@app.get("/checks")
def check_results(
    conn: Conn,
    check: Annotated[list[str] | None, Query(description="check names (default all)")] = None,
    asset: str | None = None,
    key: Annotated[list[str] | None, Query(description="partition keys")] = None,
    failed: bool = False,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
) -> dict[str, Any]:
    """The latest result of each (check, key), with counts per check; `failed` keeps only
    failed and errored results. `current` is false for a result of older data."""
    from talentflow.engine import checks as checking

    defs = definitions()
    try:
        chosen = [defs.get_check(n) for n in check] if check else defs.checks
    except UnknownAsset as exc:
        raise HTTPException(404, str(exc)) from None
    if asset is not None:
        _asset(asset)
        chosen = [c for c in chosen if c.asset_name == asset]
    names = [c.name for c in chosen]
    outcomes = [checking.CheckOutcome.FAILED, checking.CheckOutcome.ERROR] if failed else None
    rows = checking.latest_results(conn, names, keys=key, outcomes=outcomes, limit=limit + 1)
    return {
        "checks": [{"name": c.name, "asset": c.asset_name, "blocking": c.blocking,
                    "description": c.description, **checking.summary(conn, [c.name])[c.name]}
                   for c in chosen],
        "results": [{"check": r.check, "asset": r.asset, "key": r.key,
                     "outcome": r.outcome.value, "severity": r.severity.value,
                     "blocking": r.blocking, "current": r.current,
                     "description": r.description, "error": r.error, "metadata": r.metadata,
                     "checked_at": r.checked_at, "flow_run_id": r.flow_run_id}
                    for r in rows[:limit]],
        "truncated": len(rows) > limit,
    }


@app.get("/matches/{kind}/{key:path}")
def matches(kind: str, key: str, conn: Conn,
            top: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, Any]:
    """An entity's stored top matches, each with why: the fused score, its features (dense,
    lexical, skill coverage, seniority fit), shared skills and missing must-have skills."""
    from talentflow.talent.entities import entity
    from talentflow.talent.match_view import NoMatches, explained_matches

    try:
        ent = entity(kind)
    except ValueError as exc:
        raise HTTPException(404, str(exc)) from None
    try:
        return explained_matches(conn, ent, key, top)
    except NoMatches as exc:
        raise HTTPException(404, str(exc)) from None


@app.get("/costs")
def costs(conn: Conn, by: str = "model", top: Annotated[int, Query(ge=1, le=1000)] = 20
          ) -> list[dict[str, Any]]:
    """LLM spend grouped by asset, model, day, run or partition."""
    from talentflow.costs import reports

    try:
        rows = reports.costs_by(conn, by, limit=top)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return [asdict(r) for r in rows]


class MaterializeRequest(BaseModel):
    """The same selection as the `materialize` flow."""

    assets: list[str] | None = Field(default=None, description="names; `+x` / `x+` closures")
    partition_key: str | None = None
    partition_keys: list[str] | None = None
    key_from: str | None = None
    key_to: str | None = None
    prefix: str | None = None
    partition_set: str | None = None
    only: list[str] | None = Field(default=None, description="missing, stale, failed")
    upstream: bool = False
    downstream: bool = False


@app.post("/materialize", status_code=201)
def launch(request: MaterializeRequest,
           authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    """Check the selection (assets exist, keys are valid for their partition set), then
    create a flow run of the materialize deployment; returns its id. Needs the bearer token."""
    _check_token(authorization, change=True)
    defs = definitions()
    with connect() as conn:
        return _launch(request, defs, conn)


def _launch(request: MaterializeRequest, defs: Definitions, conn: psycopg.Connection
            ) -> dict[str, Any]:
    from talentflow.engine.flow import _selection
    from talentflow.engine.run import observe_all, root_keys, sources_of
    from talentflow.partitions import InvalidPartitionKey

    try:
        selected = defs.select(request.assets, upstream=request.upstream,
                               downstream=request.downstream)
        sel = _selection(request.partition_key, request.partition_keys, request.key_from,
                         request.key_to, request.prefix, request.partition_set, request.only)
        if sel.narrowed:
            # New rows register their keys first, as the run itself would.
            observe_all(conn, sources_of(defs, selected), defs.resource_values)
            root_keys(conn, [a for a in selected if not a.source] or selected, sel)
    except (UnknownAsset, InvalidPartitionKey, ValueError) as exc:
        raise HTTPException(422, str(exc)) from None
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound

    name = os.environ.get(DEPLOYMENT_ENV, DEFAULT_DEPLOYMENT)
    parameters = request.model_dump(exclude_none=True, exclude_defaults=True)
    spec = os.environ.get("TALENTFLOW_DEFINITIONS")
    if spec:  # the run works on the definitions this API serves, not the worker's default
        parameters["definitions"] = spec
    try:
        run = run_deployment(name, parameters=parameters, timeout=0, as_subflow=False)
    except ObjectNotFound:
        raise HTTPException(409, f"no deployment {name!r} on the Prefect API: start "
                            "`talentflow serve`, or `prefect deploy --all`") from None
    return {"flow_run_id": str(run.id), "flow_run_name": run.name, "deployment": name,
            "flow_run_url": _run_url(str(run.id)), "parameters": parameters}


def _run_url(flow_run_id: str) -> str | None:
    """The run's page in the Prefect UI (None when the UI's address is unknown)."""
    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL

    ui = PREFECT_UI_URL.value() or (PREFECT_API_URL.value() or "").removesuffix("/api")
    return f"{ui.rstrip('/')}/runs/flow-run/{flow_run_id}" if ui else None
