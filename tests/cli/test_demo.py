"""`talentflow demo` end to end on the shipped sample: the first run does the work, the second
finds every partition up to date and says so without starting a flow run."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner


def test_demo_twice(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALENTFLOW_DEFINITIONS", "flows.definitions")
    from talentflow.cli.app import app

    runner = CliRunner()
    first = runner.invoke(app, ["demo", "--show", "2"])
    assert first.exit_code == 0, first.output
    assert "ingest data/candidates.jsonl: 240 new" in first.output
    assert "candidate normalize ran  240" in first.output
    assert "job       embed     ran  220" in first.output
    assert "LLM cost of flow run" in first.output and "rules/rules-v1: 460 call(s)" in first.output
    assert first.output.count("top matches for c-0000") == 2

    second = runner.invoke(app, ["demo", "--show", "1"])
    assert second.exit_code == 0, second.output
    assert "240 unchanged" in second.output and "220 unchanged" in second.output
    assert "nothing to do: every partition is up to date" in second.output
    assert "running the talent pipeline" not in second.output
    assert "top matches for c-00001" in second.output
