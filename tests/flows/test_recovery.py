"""The durable path on the talent pipeline: whatever the fast path lost — an event never sent,
a run never started, a run killed mid-batch — the reconcile loop finds and finishes, with no
operator step, and nothing is computed twice."""

from __future__ import annotations

import psycopg

from tests.support.talent_rows import CVS, JOBS, load_rows


def test_rows_whose_events_were_lost_are_materialized_by_reconcile(db: str) -> None:
    from talentflow.engine.reconcile import launch_inline, reconcile_once
    from talentflow.partitions import claims, registry, status
    from tasks.definitions import defs

    load_rows(db)
    # The sensor registered the keys and moved its cursor, then died before any run started.
    with psycopg.connect(db) as conn:
        registry.add_keys(conn, "candidates", list(CVS))
    report = reconcile_once(defs, launcher=launch_inline)
    assert [x.group for x in report.launches] == ["eager"]
    bound = defs.bind()
    with psycopg.connect(db) as conn:
        for asset in bound.assets:
            if asset.source:
                continue
            states = {s.key: s.status for s in status(conn, asset)}
            expected = CVS if asset.partitions.name == "candidates" else JOBS
            assert states == dict.fromkeys(expected, "materialized"), asset.name
        assert claims.expired(conn) == []
        assert conn.execute("SELECT count(*) FROM partition_claims").fetchone()[0] == 0
        calls = conn.execute("SELECT count(*) FROM llm_calls").fetchone()[0]
    assert calls == len(CVS) + len(JOBS)  # each profile normalized once
    assert reconcile_once(defs, launcher=launch_inline).launches == []
