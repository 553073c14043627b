"""`talentflow checks` and check failures in `materialize` / `status`, end to end on the real
engine (Prefect flow runs) over tests/support/checked_project.py."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from tests.support import checked_project as project


@pytest.fixture
def cli(db: str, monkeypatch: pytest.MonkeyPatch):
    from talentflow.cli.app import app

    project.create_tables(db, min_len=4)
    monkeypatch.setenv("TALENTFLOW_DEFINITIONS", "tests.support.checked_project:defs")
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_a_blocking_check_failure_is_an_exit_code_a_status_and_a_listed_result(
        cli, db: str) -> None:
    project.put_docs(db, {"a": "alpha", "b": "hi", "c": "r2d2 unit"})

    result = cli("materialize", "doc_lengths+upstream")
    assert result.exit_code == 1, result.output  # the data did not pass: the exit says so
    assert re.search(r"tidy_docs: ran 3, .* failed a blocking check 1, check warnings 1",
                     result.output), result.output
    assert re.search(r"failed tidy_docs\['b'\]: check failed: long_enough", result.output)
    assert re.search(r"warning tidy_docs\['c'\]: check failed: no_digits", result.output)
    assert re.search(r"doc_lengths: ran 2, .* blocked 1", result.output), result.output

    result = cli("status")
    assert result.exit_code == 0, result.output
    assert re.search(r"^\s*failed\s+'b':\s+check failed:\s+long_enough\s*$", result.output, re.M), \
        result.output

    result = cli("checks")
    assert result.exit_code == 0, result.output
    assert "long_enough (tidy_docs, blocking): passed 2, failed 1, error 0" in result.output
    assert "no_digits (tidy_docs): passed 2, failed 1, error 0" in result.output
    assert """failed [error] 'b' {"length": 2, "min_len": 4}""" in result.output
    assert re.search(r"failed \[warn\] 'c'", result.output), result.output

    lines = [json.loads(x) for x in cli("checks", "--json", "-c", "long_enough").stdout
             .strip().splitlines() if x.startswith("{")]
    assert {(x["key"], x["outcome"], x["current"]) for x in lines} == {
        ("a", "passed", True), ("b", "failed", True), ("c", "passed", True)}

    # The rule was too strict: re-run the check alone for the key; it passes, nothing is
    # materialized again, and the key's downstream runs next time.
    project.set_min_len(db, 2)
    result = cli("checks", "run", "long_enough", "-p", "b")
    assert result.exit_code == 0, result.output
    assert "long_enough (tidy_docs): passed 1, failed 0, error 0" in result.output
    result = cli("materialize", "doc_lengths")
    assert result.exit_code == 0, result.output
    assert re.search(r"doc_lengths: ran 1, .* blocked 0", result.output), result.output


def test_checks_refuse_unknown_checks_and_keys(cli, db: str) -> None:
    project.put_docs(db, {"a": "alpha"})
    result = cli("checks", "run", "nope")
    assert result.exit_code == 2 and "unknown check 'nope'" in result.output
    result = cli("checks", "run", "long_enough", "-p", "zz")
    assert result.exit_code == 2 and "zz" in result.output, result.output
    result = cli("checks", "-c", "nope")
    assert result.exit_code == 2
