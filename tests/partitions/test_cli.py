"""`talentflow partitions ...`, `talentflow status`, `talentflow materialize` end to end.

`materialize` runs the real engine (a Prefect flow run) over a small project: a source asset
loading rows of a real table, an asset computed from it, and a static-set asset.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from pathlib import Path

import psycopg
import pytest
import typer
from typer.testing import CliRunner

from talentflow.cli import partitions as partition_commands

DEFINITIONS = '''
from talentflow.engine import Definitions
from talentflow.partitions import DynamicPartitions, StaticPartitions, asset, source_asset

docs = DynamicPartitions("docs")


def load(ctx):
    rows = ctx.conn.execute("SELECT id, body FROM cli_docs WHERE id = ANY(%s)", [ctx.keys])
    return dict(rows.fetchall())


raw = source_asset("raw_docs", docs, fn=load)


@asset(partitions=docs)  # Identity on raw_docs, by parameter name
def clean_docs(raw_docs: str) -> str:
    if raw_docs == "boom":
        raise ValueError("cannot clean 'boom'")
    return raw_docs.upper()


@asset(partitions=StaticPartitions("region_set", ["eu", "us"]))
def regions(key: str) -> str:
    return key


defs = Definitions(assets=[raw, clean_docs, regions])
'''

# `  <asset>: ran N, cached N, up to date N, failed N, blocked N, held by another run N`
REPORT_LINE = re.compile(
    r"^\s*(?P<asset>\w+):\s+ran (?P<ran>\d+),\s+cached (?P<cached>\d+),\s+"
    r"up to date (?P<up_to_date>\d+),\s+failed (?P<failed>\d+),\s+blocked (?P<blocked>\d+),"
    r"\s+held by another run (?P<held>\d+)\s*$", re.M)
COUNTS_LINE = re.compile(r"^\s*((?:(?:materialized|stale|failed|missing|running)\s+\d+\s*)+)$",
                         re.M)


def _report(output: str) -> dict[str, dict[str, int]]:
    return {m["asset"]: {k: int(v) for k, v in m.groupdict().items() if k != "asset"}
            for m in REPORT_LINE.finditer(output)}


def _counts(output: str, asset: str) -> dict[str, int]:
    """The counts line under an asset's header in `status` output."""
    block = output.split(f"{asset}  (", 1)[1]
    line = COUNTS_LINE.search(block)
    assert line is not None, output
    return {s: int(n) for s, n in re.findall(r"(\w+)\s+(\d+)", line.group(1))}


def _json_report(stdout: str) -> dict:
    # The last line of stdout is the report (Prefect may log above it).
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture
def cli(db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("CREATE TABLE cli_docs (id text PRIMARY KEY, body text NOT NULL)")
    module = f"tf_defs_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(DEFINITIONS)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("TALENTFLOW_DEFINITIONS", f"{module}:defs")
    root = typer.Typer()
    root.add_typer(partition_commands.app, name="partitions")
    partition_commands.register_top_level(root)
    runner = CliRunner()
    progress = logging.getLogger("talentflow.progress")
    saved = (progress.level, progress.propagate)

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(root, list(args), input=input)

    yield invoke
    progress.setLevel(saved[0])
    progress.propagate = saved[1]


def _rows(db: str, rows: dict[str, str]) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        for key, body in rows.items():
            conn.execute("INSERT INTO cli_docs VALUES (%s, %s) ON CONFLICT (id) DO UPDATE "
                         "SET body = EXCLUDED.body", (key, body))


def test_add_list_delete(cli, tmp_path: Path) -> None:
    result = cli("partitions", "add", "docs", "a", "b", "x'; DROP TABLE t;--")
    assert result.exit_code == 0, result.output
    assert "3 new key(s), 0 already there, 3 in total" in result.output
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("b\n😀 smile\r\n\nc/d\n", encoding="utf-8")
    result = cli("partitions", "add", "docs", "--file", str(keys_file))
    assert "2 new key(s), 1 already there, 5 in total" in result.output
    result = cli("partitions", "add", "docs", "-f", "-", input="e\na\n")
    assert "1 new key(s), 1 already there, 6 in total" in result.output
    result = cli("partitions", "list", "docs", "--limit", "2")
    assert result.stdout.splitlines() == ["a", "b"]
    assert '(more: --after "b")' in result.stderr
    result = cli("partitions", "list", "docs", "--after", "b", "--json")
    assert result.stdout.strip() == '["c/d", "e", "x\'; DROP TABLE t;--", "😀 smile"]'
    assert cli("partitions", "list", "docs", "--prefix", "x").stdout.splitlines() == [
        "x'; DROP TABLE t;--"]
    result = cli("partitions", "delete", "docs", "a", "zzz")
    assert "1 key(s) deleted, 1 were not there" in result.output
    # Static sets list their declared keys.
    assert cli("partitions", "list", "region_set").stdout.splitlines() == ["eu", "us"]
    sets = cli("partitions", "sets").stdout.splitlines()
    assert [line.split("\t") for line in sets] == [
        ["docs", "dynamic", "5 keys"], ["region_set", "static"]]


def test_bad_input_is_reported_not_raised(cli) -> None:
    result = cli("partitions", "add", "docs", "ok", "x" * 600)
    assert result.exit_code == 2 and "600 bytes" in result.output
    result = cli("partitions", "add", "region_set", "asia")
    assert result.exit_code == 1 and "static set" in result.output
    assert cli("partitions", "add", "docs").exit_code == 2  # no keys at all
    result = cli("materialize", "nope", "--partition", "eu")
    assert result.exit_code == 2 and "unknown asset 'nope'" in result.output
    result = cli("materialize", "clean_docs", "--partition", "unregistered")
    assert result.exit_code == 2 and "not registered" in result.output
    result = cli("materialize", "regions", "--partition", "asia")
    assert result.exit_code == 2 and "asia" in result.output
    result = cli("partitions", "status", "nope")
    assert result.exit_code == 1 and "unknown asset 'nope'" in result.output
    # Nothing ran: the checks come before any flow run.
    result = cli("status", "--state", "missing")
    assert _counts(result.output, "regions") == {
        "materialized": 0, "stale": 0, "failed": 0, "missing": 2, "running": 0}


def test_a_static_asset_without_deps_materializes(cli, db: str) -> None:
    from talentflow.partitions import claims

    # Another live run holds 'us': this run computes 'eu' only and reports 'us' held.
    with psycopg.connect(db, autocommit=True) as conn:
        claims.claim(conn, "regions", ["us"], holder="other", flow_run_id="run-other")
    result = cli("materialize", "regions")
    assert result.exit_code == 0, result.output
    assert _report(result.output) == {"regions": {
        "ran": 1, "cached": 0, "up_to_date": 0, "failed": 0, "blocked": 0, "held": 1}}
    assert re.search(r"… regions: 1/1 keys \(0 cached, 0 failed, 0 blocked\)",
                     result.stderr)  # progress
    with psycopg.connect(db, autocommit=True) as conn:
        claims.release_all(conn, "other")
        value = conn.execute("SELECT value FROM asset_values WHERE asset = 'regions' "
                             "AND partition_key = 'eu'").fetchone()
    assert value == ("eu",)  # the function's return value, stored
    result = cli("materialize", "regions", "--json")
    assert result.exit_code == 0, result.output
    report = _json_report(result.stdout)
    assert report["ok"] is True
    assert "Logging error" not in result.output
    assert (report["assets"]["regions"]["ran"], report["assets"]["regions"]["up_to_date"]) == (
        ["us"], 1)
    result = cli("materialize", "regions")
    assert result.exit_code == 0, result.output
    assert "nothing to do" in result.output and _report(result.output) == {}
    result = cli("partitions", "status", "regions")
    assert _counts(result.output, "regions") == {
        "materialized": 2, "stale": 0, "failed": 0, "missing": 0, "running": 0}


def test_status_and_materialize(cli, db: str) -> None:
    cli("partitions", "add", "docs", "a", "b", "c")
    _rows(db, {"a": "alpha", "b": "beta", "c": "boom"})
    result = cli("status")
    assert result.exit_code == 0, result.output
    assert re.search(r"^clean_docs\s+\(asset over dynamic set 'docs', 3 keys\)$",
                     result.output, re.M), result.output
    assert re.search(r"^raw_docs\s+\(source asset over dynamic set 'docs', 3 keys\)$",
                     result.output, re.M), result.output
    assert _counts(result.output, "clean_docs") == {
        "materialized": 0, "stale": 0, "failed": 0, "missing": 3, "running": 0}
    # `status` read the table (observe): the source's rows are recorded.
    assert _counts(result.output, "raw_docs")["materialized"] == 3

    # A key failing makes the run exit 1; its batch-mates are recorded.
    result = cli("materialize", "clean_docs", "--partition", "a", "-p", "b", "-p", "c")
    assert result.exit_code == 1, result.output
    assert _report(result.output) == {"clean_docs": {
        "ran": 2, "cached": 0, "up_to_date": 0, "failed": 1, "blocked": 0, "held": 0}}
    assert re.search(r"failed clean_docs\['c'\]: .*cannot clean 'boom'", result.output)
    with psycopg.connect(db, autocommit=True) as conn:
        values = dict(conn.execute("SELECT partition_key, value FROM asset_values "
                                   "WHERE asset = 'clean_docs'").fetchall())
    assert values == {"a": "ALPHA", "b": "BETA"}

    # The row behind 'b' is edited; 'c' is fixed. Status sees it before anything re-runs.
    _rows(db, {"b": "bravo", "c": "charlie"})
    result = cli("partitions", "status", "clean_docs")
    assert result.exit_code == 0, result.output
    assert _counts(result.output, "clean_docs") == {
        "materialized": 1, "stale": 1, "failed": 1, "missing": 0, "running": 0}
    assert re.search(r"^\s+stale\s+'b': upstream raw_docs\['b'\] changed: \w+ → \w+$",
                     result.output, re.M), result.output
    assert re.search(r"^\s+failed\s+'c': failed: .*cannot clean 'boom'", result.output, re.M)
    result = cli("status", "--limit", "0")
    assert re.search(r"… 2 more \(raise --limit\)", result.output), result.output
    result = cli("status", "--state", "materialized")
    assert re.search(r"^\s+materialized\s+'a': materialized$", result.output, re.M)

    # Only the failed key, then the rest.
    result = cli("materialize", "clean_docs", "--failed", "--json")
    assert result.exit_code == 0, result.output
    report = _json_report(result.stdout)["assets"]["clean_docs"]
    assert (report["ran"], report["failed"], report["up_to_date"]) == (["c"], {}, 2)
    result = cli("materialize", "clean_docs")
    assert result.exit_code == 0, result.output
    assert _report(result.output)["clean_docs"] == {
        "ran": 1, "cached": 0, "up_to_date": 2, "failed": 0, "blocked": 0, "held": 0}
    result = cli("materialize", "clean_docs")
    assert result.exit_code == 0 and "nothing to do" in result.output
    result = cli("status")
    assert _counts(result.output, "clean_docs") == {
        "materialized": 3, "stale": 0, "failed": 0, "missing": 0, "running": 0}
    with psycopg.connect(db, autocommit=True) as conn:
        values = dict(conn.execute("SELECT partition_key, value FROM asset_values "
                                   "WHERE asset = 'clean_docs'").fetchall())
    assert values == {"a": "ALPHA", "b": "BRAVO", "c": "CHARLIE"}


def test_missing_definitions_module(cli, monkeypatch) -> None:
    monkeypatch.setenv("TALENTFLOW_DEFINITIONS", "surely_not_a_module_here:defs")
    result = cli("status")
    assert result.exit_code == 1
    assert "module 'surely_not_a_module_here' not found" in result.output
    result = cli("materialize", "clean_docs")
    assert result.exit_code == 1 and "TALENTFLOW_DEFINITIONS" in result.output
    # Adding keys to a dynamic set needs no definitions.
    assert cli("partitions", "add", "docs", "a").exit_code == 0


def test_definitions_attribute_must_be_a_definitions_object(cli, monkeypatch) -> None:
    import os

    module = os.environ["TALENTFLOW_DEFINITIONS"].split(":")[0]
    monkeypatch.setenv("TALENTFLOW_DEFINITIONS", f"{module}:docs")
    result = cli("status")
    assert result.exit_code == 1
    assert "has no Definitions object named 'docs'" in result.output


def test_status_writes_the_status_picture(cli, db: str, tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    cli("partitions", "add", "docs", "a", "b", "c")
    _rows(db, {"a": "alpha", "b": "boom", "c": "gamma"})
    cli("materialize", "clean_docs", "-p", "a", "-p", "b")
    result = cli("status", "clean_docs", "--svg", str(tmp_path / "pics" / "clean.svg"))
    assert result.exit_code == 0, result.output
    assert "status picture of clean_docs" in result.output
    texts = {t.text for t in ET.parse(tmp_path / "pics" / "clean.svg").getroot().iter(
        "{http://www.w3.org/2000/svg}text")}
    assert {"materialized 1", "failed 1", "missing 1"} <= texts
    # Several assets: one file each.
    result = cli("status", "--svg", str(tmp_path / "all.svg"))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.glob("all-*.svg")) == [
        "all-clean_docs.svg", "all-regions.svg"]
    result = cli("partitions", "status", "clean_docs", "--svg", str(tmp_path / "x.svg"),
                 "--dim", "a")
    assert result.exit_code == 2 and "two dimensions" in result.output
