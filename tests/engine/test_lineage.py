"""Lineage by construction: the versions recorded as consumed (and hashed into the cache key)
are exactly those of the data the compute read, whatever changes around the read."""

from __future__ import annotations

import psycopg
import pytest

from talentflow.engine import materialize
from talentflow.partitions import ReasonKind, history, status
from tests.engine.conftest import Project


def _consumed(p: Project, asset: str, key: str) -> dict:
    from talentflow.db import connect

    with connect() as conn:
        return history(conn, asset, key, 1)[0].inputs


def _raw_version(p: Project, key: str) -> str:
    from talentflow.db import connect
    from talentflow.partitions import latest

    with connect() as conn:
        return latest(conn, "raw", key).data_version


def test_a_change_between_plan_and_compute_is_what_gets_recorded(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    from talentflow.engine import run as engine_run

    project.add_rows({"k-1": " first "})
    planned = engine_run.Run._plan

    def plan_then_edit(self, conn, a, *args, **kwargs):
        out = planned(self, conn, a, *args, **kwargs)
        if a.name == "clean":  # a writer commits after the plan, before the read
            with psycopg.connect(project.db) as other:
                other.execute("UPDATE items SET body = ' second ' WHERE id = 'k-1'")
        return out

    monkeypatch.setattr(engine_run.Run, "_plan", plan_then_edit)
    materialize(project.defs, ["clean+upstream"])
    with psycopg.connect(project.db) as conn:
        value = conn.execute("SELECT value FROM asset_values WHERE asset = 'clean'").fetchone()
    assert value[0] == {"v": "second"}  # computed from what was read...
    assert _consumed(project, "clean", "k-1") == {("raw", "k-1"): _raw_version(project, "k-1")}
    monkeypatch.undo()
    # ...so it is fresh: nothing to do.
    assert not materialize(project.defs, ["clean+upstream"]).assets


def test_a_change_during_compute_leaves_the_key_stale(project: Project) -> None:
    from talentflow.db import connect
    from talentflow.engine import Definitions, asset
    from talentflow.engine.run import observe_all

    project.add_rows({"k-1": " first "})
    raw = project.defs.get("raw")

    @asset(partitions=raw.partitions)
    def clean(key: str, raw: str) -> dict:
        # A writer commits while this computes, after the engine read `raw`.
        with psycopg.connect(project.db) as other:
            other.execute("UPDATE items SET body = ' second ' WHERE id = %s", [key])
        return {"v": raw.strip()}

    defs = Definitions(assets=[project.defs.get("raw"), clean])
    materialize(defs, ["clean+upstream"])
    read_version = _consumed(project, "clean", "k-1")[("raw", "k-1")]
    with connect() as conn:
        assert observe_all(conn, [defs.get("raw")], {}) == {"raw": 1}
    now = _raw_version(project, "k-1")
    with connect() as conn:
        [row] = status(conn, defs.get("clean"), ["k-1"])
    assert read_version != now  # the record says what was read: the first text
    assert row.status == "stale" and row.kinds == {ReasonKind.INPUT_CHANGED}
