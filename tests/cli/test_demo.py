"""`talentflow demo` end to end on the shipped sample: the first run does the work, the second
finds every partition up to date and says so without starting a flow run."""

from __future__ import annotations

import re

from typer.testing import CliRunner


def _ran(output: str) -> dict[str, int]:
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^\s+(\w+): ran (\d+)", output,
                                                           re.M)}


def test_demo_twice(db: str) -> None:
    from talentflow.cli.app import app

    runner = CliRunner()
    first = runner.invoke(app, ["demo", "--show", "2"])
    assert first.exit_code == 0, first.output
    assert re.search(r"ingest data/candidates.jsonl: 240 new", first.output)
    ran = _ran(first.output)
    assert ran["normalized_candidates"] == 240 and ran["candidate_vectors"] == 240
    assert ran["job_vectors"] == 220 and ran["job_matches"] == 220
    assert re.search(r"rules/rules-v1: 460 call\(s\)", first.output)
    assert len(re.findall(r"top matches for c-\d+", first.output)) == 2

    second = runner.invoke(app, ["demo", "--show", "1"])
    assert second.exit_code == 0, second.output
    assert re.search(r"240 unchanged", second.output) and re.search(r"220 unchanged",
                                                                    second.output)
    assert "nothing to do: every partition is up to date" in second.output
    assert "running the talent pipeline" not in second.output
    assert re.search(r"top matches for c-00001 ", second.output)
