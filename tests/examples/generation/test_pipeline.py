"""A small cohort (2 combos x 2 draft templates x 2 models) end to end on a real database, real
Prefect (ephemeral) and real files: parent lineage, files per generation, the cost ledger,
staleness after a template edit, and the scores table against the files themselves."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path
from statistics import mean
from typing import Any

import psycopg
import pytest

from examples.generation import defs
from examples.generation.flows import generate_cohort
from tests.examples.generation.conftest import (
    COLUMNS,
    SMALL,
    Dirs,
    encode,
    gen_id,
    row_keys,
    write_cohort,
)

STAGES = ("draft", "essay", "evaluation")
DIMS = {"draft": COLUMNS[1:4], "essay": COLUMNS[1:6], "evaluation": COLUMNS[1:8]}
FILES = {"prompt.txt", "raw.txt", "parsed.json", "metadata.json", ".data_version"}


@pytest.fixture
def generated(gdb: str, dirs: Dirs) -> dict[str, Any]:
    write_cohort(dirs, "small", SMALL)
    out = generate_cohort("small")
    assert out["ok"], out
    return out


def keys_of(stage: str) -> set[str]:
    return {row_keys(r)[stage] for r in SMALL}


def latest_versions(db: str, asset: str) -> dict[str, str]:
    with psycopg.connect(db) as conn:
        return dict(conn.execute(
            "SELECT partition_key, data_version FROM partition_latest "
            "WHERE asset = %s AND success_id IS NOT NULL", (asset,)).fetchall())


def inputs_read(db: str, asset: str, key: str) -> dict[tuple[str, str], str]:
    """What the key's current materialization recorded as read: (upstream, key) -> version."""
    with psycopg.connect(db) as conn:
        return {(a, k): v for a, k, v in conn.execute(
            "SELECT i.upstream_asset, i.upstream_key, i.data_version "
            "FROM partition_latest l JOIN materialization_inputs i "
            "ON i.materialization_id = l.success_id "
            "WHERE l.asset = %s AND l.partition_key = %s", (asset, key)).fetchall()}


def test_three_stages_run_and_each_child_read_its_parent(generated: dict[str, Any],
                                                         gdb: str) -> None:
    ran = {a: set(r["ran"]) for a, r in generated["assets"].items()}
    assert ran["cohort"] == {"small"}
    for stage in STAGES:
        assert ran[stage] == keys_of(stage)
    assert ran["scores_by_template_model"] == {"all"}
    drafts, essays = latest_versions(gdb, "draft"), latest_versions(gdb, "essay")
    for row in SMALL:
        keys = row_keys(row)
        essay_read = inputs_read(gdb, "essay", keys["essay"])
        assert essay_read[("draft", keys["draft"])] == drafts[keys["draft"]]
        assert ("essay_templates", row["essay_template"]) in essay_read
        assert len(essay_read) == 2  # its parent and its template, nothing else
        evaluation_read = inputs_read(gdb, "evaluation", keys["evaluation"])
        assert evaluation_read[("essay", keys["essay"])] == essays[keys["essay"]]
        assert ("evaluation_templates", row["evaluation_template"]) in evaluation_read
        draft_read = inputs_read(gdb, "draft", keys["draft"])
        assert set(draft_read) == {("combos", row["combo"]),
                                   ("draft_templates", row["draft_template"])}


def test_each_generation_is_a_folder_of_files(generated: dict[str, Any], gdb: str,
                                             dirs: Dirs) -> None:
    combos = dirs.combos()
    on_disk = {stage: dirs.generations(stage) for stage in STAGES}
    for stage in STAGES:
        assert set(on_disk[stage]) == {gen_id(k) for k in keys_of(stage)}
        versions = latest_versions(gdb, stage)
        for key in keys_of(stage):
            folder = dirs.gens / stage / gen_id(key)
            # An entry is a link to a complete hidden generation, swapped in by one rename.
            assert folder.is_symlink() and os.readlink(folder).startswith(f".{gen_id(key)}.")
            assert {p.name for p in folder.iterdir()} == FILES
            assert (folder / ".data_version").read_text() == versions[key]
    for row in SMALL:
        keys = row_keys(row)
        draft = on_disk["draft"][gen_id(keys["draft"])]
        essay = on_disk["essay"][gen_id(keys["essay"])]
        evaluation = on_disk["evaluation"][gen_id(keys["evaluation"])]
        assert ", ".join(combos[row["combo"]]) in draft["prompt.txt"]
        assert draft["parsed.json"]["text"] == draft["raw.txt"].strip()
        assert draft["parsed.json"]["text"] in essay["prompt.txt"]
        assert essay["parsed.json"]["text"] in evaluation["prompt.txt"]
        assert evaluation["prompt.txt"].rstrip().endswith("overall: <score>/10")
        assert evaluation["parsed.json"]["overall"] is not None
        for stage, files, parent in (("draft", draft, None), ("essay", essay, "draft"),
                                     ("evaluation", evaluation, "essay")):
            meta = files["metadata.json"]
            assert meta["dimensions"] == {c: row[c] for c in DIMS[stage]}
            assert meta["key"] == keys[stage] and meta["gen_id"] == gen_id(keys[stage])
            assert meta["parent_gen_id"] == (gen_id(keys[parent]) if parent else None)
            assert meta["model"] == row[f"{stage}_model"]
            assert meta["template"] == row[f"{stage}_template"]
            assert meta["provider"] == "offline" and meta["cost_usd"] == 0
            assert meta["tokens"]["prompt"] > 0 and meta["tokens"]["completion"] > 0


def test_every_call_is_in_the_ledger_per_stage_and_key(generated: dict[str, Any], gdb: str,
                                                       dirs: Dirs) -> None:
    with psycopg.connect(gdb) as conn:
        rows = conn.execute(
            "SELECT asset, partition_key, provider, model, prompt_tokens, completion_tokens, "
            "cost_usd, status, flow_run_id FROM llm_calls").fetchall()
    assert sorted((a, k) for a, k, *_ in rows) == sorted(
        (stage, k) for stage in STAGES for k in keys_of(stage))
    for asset, key, provider, model, prompt, completion, cost, status, run in rows:
        meta = dirs.generations(asset)[gen_id(key)]["metadata.json"]
        assert (provider, model, status, float(cost)) == ("offline", "offline-v1", "ok", 0.0)
        assert (prompt, completion) == (meta["tokens"]["prompt"], meta["tokens"]["completion"])
        assert run == generated["flow_run_id"]
    # A second run finds everything up to date: nothing runs, nothing is called.
    again = generate_cohort("small")
    assert again["ok"] and not any(r["ran"] for r in again.get("assets", {}).values())
    with psycopg.connect(gdb) as conn:
        assert conn.execute("SELECT count(*) FROM llm_calls").fetchone()[0] == len(rows)


def stale_keys(stage: str) -> dict[str, str]:
    from talentflow.db import connect
    from talentflow.engine.run import observe_all
    from talentflow.partitions.status import status

    bound = defs.bind()
    with connect() as conn:
        observe_all(conn, [a for a in bound.assets if a.source], {})
        conn.commit()
        return {s.key: s.status for s in status(conn, bound.get(stage), propagate=True)}


def test_a_draft_template_edit_makes_exactly_its_generations_stale(
        generated: dict[str, Any], gdb: str, dirs: Dirs) -> None:
    template = dirs.template("draft", "letter")
    template.write_text(template.read_text() + "Sign it with an initial only.\n")
    affected = {stage: {row_keys(r)[stage] for r in SMALL if r["draft_template"] == "letter"}
                for stage in STAGES}
    assert all(len(keys) == 4 for keys in affected.values())
    for stage in STAGES:
        states = stale_keys(stage)
        assert {k for k, s in states.items() if s == "stale"} == affected[stage]
        assert {k for k, s in states.items() if s == "materialized"} == \
            keys_of(stage) - affected[stage]
    before = {k: os.readlink(dirs.gens / "draft" / gen_id(k)) for k in affected["draft"]}
    again = generate_cohort("small")
    assert again["ok"]
    for stage in STAGES:
        assert set(again["assets"][stage]["ran"]) == affected[stage]
        assert again["assets"][stage]["up_to_date"] == 4
    for key, old in before.items():
        root = dirs.gens / "draft"
        assert os.readlink(root / gen_id(key)) != old
        assert not (root / old).exists()  # the old generation went with the swap
        assert "Sign it with an initial only." in (root / gen_id(key) / "prompt.txt").read_text()
    hidden = [p.name for p in (dirs.gens / "draft").iterdir() if p.name.startswith(".")]
    assert len(hidden) == 8  # one generation per key, no leftovers
    assert all(s == "materialized" for stage in STAGES for s in stale_keys(stage).values())


def test_the_scores_table_agrees_with_the_files(generated: dict[str, Any], gdb: str,
                                               dirs: Dirs) -> None:
    # The oracle: parsed.json and metadata.json read from disk, grouped by hand.
    groups: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for files in dirs.generations("evaluation").values():
        dims = files["metadata.json"]["dimensions"]
        for stage in STAGES:
            groups[(stage, dims[f"{stage}_template"], dims[f"{stage}_model"])].append(
                float(files["parsed.json"]["overall"]))
    from talentflow.db import connect
    from talentflow.engine.frames import DataFrameStore

    with connect() as conn:
        table = DataFrameStore().read(conn, "scores_by_template_model", ["all"])["all"].value
    got = {(r.stage, r.template, r.model): (r.evaluations, r.mean_score, r.min_score,
                                            r.max_score) for r in table.itertuples()}
    assert set(got) == set(groups)
    for group, scores in groups.items():
        n, avg, lo, hi = got[group]
        assert n == len(scores) and lo == min(scores) and hi == max(scores)
        assert avg == pytest.approx(mean(scores), abs=1e-4)
    assert list(table["stage"].drop_duplicates()) == list(STAGES)
    # ... and on the run's page, as a table artifact.
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(generated["flow_run_id"])])))
    by_key = {a.key: a.data for a in found}
    rows = by_key["generation-scores"]
    rows = rows if isinstance(rows, list) else json.loads(rows)
    assert len(rows) == len(groups)
    assert "llm-costs" in by_key


def test_status_cli_shows_the_generation_assets(generated: dict[str, Any],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from talentflow.cli.app import app

    # --definitions sets this variable for the process: restore it after the test.
    monkeypatch.setenv("TALENTFLOW_DEFINITIONS", "examples.generation")

    result = CliRunner().invoke(app, ["--definitions", "examples.generation", "status"])
    assert result.exit_code == 0, result.output
    for asset in ("cohort", "draft", "essay", "evaluation", "scores_by_template_model"):
        assert asset in result.output


def test_a_key_with_odd_values_is_generated_under_its_file_name(gdb: str, dirs: Dirs) -> None:
    # A model name the cohort accepts with '/' and ':' in it; a template and combo whose
    # names hold a space, a pipe and unicode.
    (dirs.data / "templates" / "draft" / "tw|o é.txt").write_text("On {concepts}.")
    with open(dirs.data / "combos.csv", "a", encoding="utf-8") as fh:
        fh.write('"c|1 ☃","snow; a backslash \\\\ here"\n')
    row = {"stage": "draft", "combo": "c|1 ☃", "draft_template": "tw|o é",
           "draft_model": "org/model:7b"}
    write_cohort(dirs, "odd", [row])
    out = generate_cohort("odd")
    assert out["ok"], out
    key = encode("c|1 ☃", "tw|o é", "org/model:7b")
    assert out["assets"]["draft"]["ran"] == [key]
    folder = dirs.gens / "draft" / gen_id(key)
    assert folder.name == "c%5C%7C1%20%E2%98%83%7Ctw%5C%7Co%20%C3%A9%7Corg%2Fmodel%3A7b"
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["dimensions"] == {"combo": "c|1 ☃", "draft_template": "tw|o é",
                                  "draft_model": "org/model:7b"}
    assert Path(folder / "prompt.txt").read_text() == "On snow, a backslash \\\\ here."
