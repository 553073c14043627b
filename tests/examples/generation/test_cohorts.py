"""Cohorts register partitions: idempotently, all or nothing, and keys that leave every cohort
are dropped with their history kept (orphaned)."""

from __future__ import annotations

import psycopg
import pytest

from examples.generation import defs
from examples.generation.cohorts import drop, register
from examples.generation.flows import generate_cohort
from examples.generation.membership import CohortError, parse
from examples.generation.templates import read_combos, read_templates
from talentflow.engine import materialize
from talentflow.partitions import registry
from tests.examples.generation.conftest import (
    COLUMNS,
    SMALL,
    Dirs,
    evaluation_row,
    row_keys,
    write_cohort,
)

SETS = {"draft": "drafts", "essay": "essays", "evaluation": "evaluations"}


def registered(db: str) -> dict[str, set[str]]:
    with psycopg.connect(db) as conn:
        return {stage: {k for (k,) in conn.execute(
            "SELECT key FROM partition_keys WHERE set_name = %s", (name,))}
            for stage, name in SETS.items()}


def expected(rows: list[dict[str, str]]) -> dict[str, set[str]]:
    return {stage: {row_keys(r)[stage] for r in rows} for stage in SETS}


def test_registering_a_cohort_is_idempotent(gdb: str, dirs: Dirs) -> None:
    write_cohort(dirs, "small", SMALL)
    first = materialize(defs, ["cohort"], keys=["small"])
    assert first.ok and first.assets["cohort"].ran == ["small"]
    assert registered(gdb) == expected(SMALL)
    with psycopg.connect(gdb) as conn:
        assert conn.execute("SELECT count(*) FROM generation_cohort_keys").fetchone()[0] == 24
    # Unchanged file: the cohort is up to date, no run at all.
    assert materialize(defs, ["cohort"], keys=["small"]).flow_run_id is None
    # Registering the same membership again adds and drops nothing.
    from talentflow.db import connect

    with connect() as conn:
        text = (dirs.cohorts / "small" / "membership.csv").read_text()
        again = register(conn, parse("small", text, combos=read_combos(),
                                     templates={s: read_templates(s) for s in SETS}))
    assert again.added == {"drafts": 0, "essays": 0, "evaluations": 0}
    assert again.listed == {"drafts": 8, "essays": 8, "evaluations": 8}
    assert again.dropped == {}
    assert registered(gdb) == expected(SMALL)


BAD = ",".join(COLUMNS) + """
draft,c01,scene,gpt-4o-mini,,,,
drafts,c01,scene,gpt-4o-mini,,,,
essay,c01,scene,gpt-4o-mini,expand,,,
draft,c01,scene,gpt-4o-mini,expand,,,
draft,c01,poem,gpt-4o-mini,,,,
draft,c99,scene,gpt-4o-mini,,,,
draft,c01,scene,gpt 4o,,,,
evaluation,c01,scene,gpt-4o-mini,expand,gpt-4o-mini,rubric,gpt-4.1-mini,extra
"""


def test_malformed_rows_are_each_named_and_nothing_is_registered(gdb: str, dirs: Dirs) -> None:
    with pytest.raises(CohortError) as info:
        parse("bad", BAD, combos=read_combos(), templates={s: read_templates(s) for s in SETS})
    assert info.value.errors == [
        "line 3, column stage: 'drafts' is not one of draft, essay, evaluation",
        "line 4, column essay_model: empty (an essay row fills combo, draft_template, "
        "draft_model, essay_template, essay_model)",
        "line 5, column essay_template: must be empty in a draft row (got 'expand')",
        "line 6, column draft_template: no draft template 'poem' (known: dialogue, letter, "
        "outline, scene)",
        "line 7, column combo: no combo 'c99' in combos.csv",
        "line 8, column draft_model: 'gpt 4o' is not a model name (letters, digits and "
        ". _ : / @ + -)",
        "line 9: 9 cells for 8 columns",
    ]
    (dirs.cohorts / "bad").mkdir()
    (dirs.cohorts / "bad" / "membership.csv").write_text(BAD)
    report = materialize(defs, ["cohort"], keys=["bad"])
    error = report.failed["cohort"]["bad"]
    assert "cohort 'bad': 7 problem(s), nothing registered: line 3, column stage" in error
    assert "; and 2 more" in error and "\n" not in error
    assert registered(gdb) == {"draft": set(), "essay": set(), "evaluation": set()}


def test_a_header_without_the_columns_is_refused() -> None:
    with pytest.raises(CohortError, match=r"line 1 \(header\): missing column\(s\) "
                       r"\['evaluation_model'\], unknown column\(s\) \['judge'\]"):
        parse("h", "stage,combo,draft_template,draft_model,essay_template,essay_model,"
                   "evaluation_template,judge\n", combos=[], templates={})


def orphaned(db: str, asset: str, key: str) -> list[bool]:
    with psycopg.connect(db) as conn:
        return [o for (o,) in conn.execute(
            "SELECT orphaned FROM materializations WHERE asset = %s AND partition_key = %s",
            (asset, key))]


def test_keys_that_leave_every_cohort_are_dropped_and_their_history_orphaned(
        gdb: str, dirs: Dirs) -> None:
    write_cohort(dirs, "a", SMALL)
    assert generate_cohort("a")["ok"]
    leaving, shared = SMALL[0], SMALL[1]
    # Cohort b lists `shared`; cohort a stops listing both.
    write_cohort(dirs, "b", [shared])
    write_cohort(dirs, "a", SMALL[2:])
    report = materialize(defs, ["cohort"], keys=["a", "b"])
    assert report.ok, report.failed
    now = registered(gdb)
    assert now == expected(SMALL[1:])
    for stage, key in row_keys(leaving).items():
        assert key not in now[stage]
        assert orphaned(gdb, stage, key) and all(orphaned(gdb, stage, key))
    for stage, key in row_keys(shared).items():
        assert orphaned(gdb, stage, key) and not any(orphaned(gdb, stage, key))
    # status no longer lists a dropped key
    from talentflow.db import connect
    from talentflow.partitions.status import status

    with connect() as conn:
        keys = {s.key for s in status(conn, defs.get("evaluation"))}
    assert row_keys(leaving)["evaluation"] not in keys
    assert row_keys(shared)["evaluation"] in keys
    # Dropping cohort b leaves `shared` to nobody: it goes too; a's keys stay.
    with connect() as conn:
        done = drop(conn, "b")
        assert done.dropped == {"evaluations": 1, "essays": 1, "drafts": 1}
        assert not registry.has_key(conn, "cohorts", "b")
    assert registered(gdb) == expected(SMALL[2:])


def test_a_parent_listed_by_two_rows_is_registered_once(gdb: str, dirs: Dirs) -> None:
    rows = [evaluation_row("c01", "scene", "gpt-4o-mini", "expand"),
            evaluation_row("c01", "scene", "gpt-4o-mini", "argue"),
            {"stage": "draft", "combo": "c01", "draft_template": "scene",
             "draft_model": "gpt-4o-mini"}]
    write_cohort(dirs, "two", rows)
    assert materialize(defs, ["cohort"], keys=["two"]).ok
    now = registered(gdb)
    assert now["draft"] == {"c01|scene|gpt-4o-mini"}
    assert now["essay"] == {"c01|scene|gpt-4o-mini|expand|gpt-4o-mini",
                            "c01|scene|gpt-4o-mini|argue|gpt-4o-mini"}
    assert len(now["evaluation"]) == 2
