"""Incremental AllOf: a key that reads all of an upstream is told exactly which upstream keys
changed since the watermark its current data consumed."""

from __future__ import annotations

from talentflow.engine import AllOf, AllOfInput, Definitions, Dep, asset, materialize
from talentflow.partitions import ReasonKind, StaticPartitions, status
from tests.engine.conftest import Project


def test_an_all_of_key_sees_only_what_changed(project: Project) -> None:
    seen: list[tuple[str, object]] = []

    @asset(partitions=StaticPartitions("summary", ["all"]), batch_size=10,
           deps=[Dep("clean", AllOf(), param="items")])
    def summary(ctx, items: AllOfInput) -> dict:
        for k in ctx.keys:
            since = items.since[k]
            if since is None:
                seen.append(("full", None))
            else:
                seen.append(("changed", items.changes(ctx.conn, since).keys))
        return {k: {"watermark": items.watermark} for k in ctx.keys}

    defs = Definitions(assets=[project.defs.get("raw"), project.defs.get("clean"), summary])
    project.add_rows({"k-1": "a", "k-2": "b", "k-3": "c"})
    materialize(defs, ["summary+upstream"])
    assert seen == [("full", None)]

    project.add_rows({"k-2": "bb", "k-3": "cc"})
    from talentflow.db import connect

    materialize(defs, ["clean+upstream"])
    with connect() as conn:
        [row] = status(conn, defs.get("summary"))
    assert row.status == "stale" and row.kinds == {ReasonKind.ALL_OF_CHANGED}
    materialize(defs, ["summary"])
    assert seen[-1] == ("changed", ["k-2", "k-3"])
    # Re-running clean without a data change moves nothing: summary stays fresh.
    assert not materialize(defs, ["summary+upstream"]).assets
