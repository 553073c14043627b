"""A small project of the tests' own on the engine: rows in a real `items` table, a source
asset reading them, and assets whose functions record each call (in-process: the engine runs
them in this process), so tests can count what was computed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest

from talentflow.engine import Definitions, asset
from talentflow.partitions import DynamicPartitions


@dataclass
class Project:
    db: str
    defs: Definitions
    calls: list[tuple[str, str]] = field(default_factory=list)
    fail: dict[str, int] = field(default_factory=dict)  # key -> how many attempts still fail

    def add_rows(self, rows: dict[str, str]) -> None:
        with psycopg.connect(self.db) as conn:
            for key, body in rows.items():
                conn.execute("INSERT INTO items (id, body) VALUES (%s, %s) ON CONFLICT (id) "
                             "DO UPDATE SET body = EXCLUDED.body", (key, body))
        from talentflow.db import connect
        from talentflow.partitions import registry

        with connect() as conn:
            registry.add_keys(conn, "items", list(rows))

    def computed(self, asset_name: str) -> list[str]:
        return [k for a, k in self.calls if a == asset_name]


def build(project: Project, *, report_retries: int = 0) -> Definitions:
    items = DynamicPartitions("items")

    @asset(partitions=items, source=True)
    def raw(ctx) -> dict[str, str]:
        rows = ctx.conn.execute("SELECT id, body FROM items WHERE id = ANY(%s)", [ctx.keys])
        return dict(rows.fetchall())

    @asset(partitions=items)
    def clean(key: str, raw: str) -> dict[str, Any]:
        project.calls.append(("clean", key))
        if raw.startswith("!"):
            raise ValueError(f"bad row {key}")
        return {"v": raw.strip().lower()}

    @asset(partitions=items, batch_size=3, retries=report_retries, retry_delay_s=0.01)
    def report(ctx, clean: dict[str, dict]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k in ctx.keys:
            project.calls.append(("report", k))
            if project.fail.get(k, 0) > 0:
                project.fail[k] -= 1
                out[k] = RuntimeError(f"flaky {k}")
                continue
            ctx.log_for(k).info("length %d", len(clean[k]["v"]))
            out[k] = {"len": len(clean[k]["v"])}
        return out

    return Definitions(assets=[raw, clean, report])


@pytest.fixture
def project(db: str) -> Iterator[Project]:
    with psycopg.connect(db) as conn:
        conn.execute("CREATE TABLE items (id text PRIMARY KEY, body text NOT NULL)")
    p = Project(db, Definitions(assets=[]))
    p.defs = build(p)
    yield p


def flow_runs() -> int:
    """How many flow runs the Prefect API knows."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return len(client.read_flow_runs(limit=200))


Factory = Callable[..., Definitions]
