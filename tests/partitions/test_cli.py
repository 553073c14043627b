"""`talentflow partitions ...`, `talentflow status`, `talentflow materialize` end to end."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from talentflow.cli import partitions as partition_commands

DEFINITIONS = '''
from talentflow.db import connect
from talentflow.partitions import (
    Asset, Dep, DynamicPartitions, StaticPartitions, catalog, data_version, source_asset,
    start, succeed,
)

docs = DynamicPartitions("docs")
raw = source_asset("raw_docs", docs)


def materialize(keys):
    with connect() as conn:
        for key in keys:
            mid = start(conn, clean, key)
            succeed(conn, mid, data_version(key.upper()))


clean = Asset("clean_docs", docs, deps=[Dep(raw)], version="1", runner=materialize)
regions = Asset("regions", StaticPartitions("region_set", ["eu", "us"]))
catalog.register(raw, clean, regions)
'''


@pytest.fixture
def cli(db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    module = f"tf_defs_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(DEFINITIONS)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("TALENTFLOW_DEFINITIONS", module)
    root = typer.Typer()
    root.add_typer(partition_commands.app, name="partitions")
    partition_commands.register_top_level(root)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(root, list(args), input=input)

    return invoke


def test_add_list_delete(cli, tmp_path: Path) -> None:
    result = cli("partitions", "add", "docs", "a", "b", "x'; DROP TABLE t;--")
    assert result.exit_code == 0, result.output
    assert "3 new key(s), 0 already there, 3 in total" in result.output
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("b\n😀 smile\r\n\nc/d\n", encoding="utf-8")
    result = cli("partitions", "add", "docs", "--file", str(keys_file))
    assert "2 new key(s), 1 already there, 5 in total" in result.output
    result = cli("partitions", "list", "docs", "--limit", "2")
    assert result.stdout.splitlines() == ["a", "b"]
    assert '(more: --after "b")' in result.stderr
    result = cli("partitions", "list", "docs", "--after", "b", "--json")
    assert result.stdout.strip() == '["c/d", "x\'; DROP TABLE t;--", "😀 smile"]'
    assert cli("partitions", "list", "docs", "--prefix", "x").stdout.splitlines() == [
        "x'; DROP TABLE t;--"]
    result = cli("partitions", "delete", "docs", "a", "zzz")
    assert "1 key(s) deleted, 1 were not there" in result.output


def test_bad_input_is_reported_not_raised(cli) -> None:
    result = cli("partitions", "add", "docs", "ok", "x" * 600)
    assert result.exit_code == 2 and "600 bytes" in result.output
    result = cli("partitions", "add", "region_set", "asia")
    assert result.exit_code == 1 and "static set" in result.output
    result = cli("materialize", "regions", "--partition", "eu")
    assert result.exit_code == 1 and "has no runner" in result.output
    result = cli("materialize", "nope", "--partition", "eu")
    assert result.exit_code == 1 and "unknown asset 'nope'" in result.output
    result = cli("materialize", "clean_docs", "--partition", "unregistered")
    assert result.exit_code == 2 and "not registered" in result.output


def test_status_and_materialize(cli, db: str) -> None:
    import psycopg

    from talentflow.partitions import catalog, observe

    cli("partitions", "add", "docs", "a", "b", "c")
    result = cli("status")
    assert result.exit_code == 0, result.output
    assert "clean_docs  (asset over dynamic set 'docs', 3 keys)" in result.output
    assert "materialized 0  stale 0  failed 0  missing 3  running 0" in result.output
    with psycopg.connect(db, autocommit=True) as conn:
        observe(conn, catalog.get_asset("raw_docs"), [("a", "1"), ("b", "1"), ("c", "1")])
    result = cli("materialize", "clean_docs", "--partition", "a", "-p", "b", "-p", "c")
    assert result.exit_code == 0, result.output
    assert "clean_docs['a']: materialized" in result.output
    with psycopg.connect(db, autocommit=True) as conn:
        observe(conn, catalog.get_asset("raw_docs"), [("b", "2")])
    result = cli("partitions", "status", "clean_docs")
    assert "materialized 2  stale 1" in result.output
    assert "stale   'b': upstream raw_docs['b'] changed: 1 → 2" in result.output
    result = cli("status", "--limit", "0")
    assert "… 1 more (raise --limit)" in result.output


def test_missing_definitions_module(cli, monkeypatch) -> None:
    monkeypatch.setenv("TALENTFLOW_DEFINITIONS", "surely_not_a_module_here")
    result = cli("status")
    assert result.exit_code == 1
    assert "module 'surely_not_a_module_here' not found" in result.output
    # Adding keys to a dynamic set needs no definitions.
    assert cli("partitions", "add", "docs", "a").exit_code == 0
