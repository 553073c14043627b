"""REST API over partition status, lineage and LLM costs (`talentflow api`).

Read-only, and the same queries as the CLI: every answer is one bulk SQL query, so asking
for the status of 100k partitions is as cheap here as in `talentflow status`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from typing import Annotated, Any

import psycopg
from fastapi import Depends, FastAPI, HTTPException, Query

from talentflow.db import connect
from talentflow.partitions import catalog, counts, status
from talentflow.partitions.materializations import history, latest
from talentflow.partitions.status import STATES

app = FastAPI(
    title="talentflow",
    description="Per-partition status, lineage and LLM costs of talentflow assets.",
    version="1",
)


def _conn() -> Iterator[psycopg.Connection]:
    with connect() as conn:
        yield conn


Conn = Annotated[psycopg.Connection, Depends(_conn)]


def _asset(name: str):
    catalog.load_definitions()
    asset = catalog.find_asset(name)
    if asset is None:
        known = ", ".join(a.name for a in catalog.all_assets())
        raise HTTPException(404, f"unknown asset {name!r}; known assets: {known}")
    return asset


@app.get("/assets")
def list_assets(conn: Conn) -> list[dict[str, Any]]:
    """Every declared asset with its partition set, upstream assets and counts by status."""
    catalog.load_definitions()
    return [
        {
            "name": a.name,
            "partition_set": a.partitions.name,
            "source": a.source,
            "code_version": None if a.source else a.code_version,
            "deps": [{"asset": d.name, "mapping": d.mapping.describe()} for d in a.deps],
            "counts": None if a.source else counts(conn, a),
        }
        for a in catalog.all_assets()
    ]


@app.get("/assets/{name}/status")
def asset_status(
    name: str,
    conn: Conn,
    state: Annotated[list[str] | None, Query(description=f"filter: {', '.join(STATES)}")] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    propagate: bool = False,
) -> dict[str, Any]:
    """Counts by status, and the keys (filtered by `state`) with the reasons for each."""
    asset = _asset(name)
    bad = set(state or ()) - set(STATES)
    if bad:
        raise HTTPException(422, f"unknown state(s) {sorted(bad)}; expected {list(STATES)}")
    rows = status(conn, asset, propagate=propagate)
    tally = {s: 0 for s in STATES}
    for row in rows:
        tally[row.status] += 1
    selected = [r for r in rows if not state or r.status in state]
    return {
        "asset": asset.name,
        "counts": tally,
        "partitions": [
            {"key": r.key, "status": r.status, "reasons": list(r.reasons)}
            for r in selected[:limit]
        ],
        "truncated": len(selected) > limit,
    }


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
        "reasons": list(key_status.reasons),
        "materializations": [
            {**asdict(m), "inputs": [
                {"asset": up, "key": str(uk), "data_version": v}
                for (up, uk), v in m.inputs.items()
            ]}
            for m in history(conn, asset, key, limit)
        ],
    }


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
