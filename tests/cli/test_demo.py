"""`talentflow demo` end to end on the shipped sample: the first run does the work, the second
finds every partition up to date and says so without starting a flow run.

The output is read for what it says, not how it is laid out: lines are compared with their
whitespace collapsed, numbers are read next to their labels, and what the demo claims to have
done is checked against the database it did it in."""

from __future__ import annotations

import re
from typing import Any

import psycopg
from typer.testing import CliRunner

ASSETS = ("normalized_candidates", "candidate_vectors", "candidate_matches",
          "normalized_jobs", "job_vectors", "job_matches")


def _lines(output: str) -> list[str]:
    return [" ".join(line.split()) for line in output.splitlines() if line.strip()]


def _counts(line: str) -> dict[str, int]:
    """'asset: ran 240, cached 0, up to date 0, ...' -> {'ran': 240, 'cached': 0, ...}."""
    return {label.strip(): int(n) for label, n in re.findall(r"([a-z][a-z ]*?)\s*(\d+)",
                                                               line.split(":", 1)[1])}


def _report(output: str) -> dict[str, dict[str, int]]:
    """The run report's line per asset, by asset."""
    return {line.split(":", 1)[0]: _counts(line) for line in _lines(output)
            if line.split(":", 1)[0] in ASSETS}


def _ingested(output: str) -> dict[str, dict[str, int]]:
    found = {}
    for line in _lines(output):
        m = re.match(r"ingest data/(\w+)\.jsonl:(.*)", line)
        if m:
            found[m.group(1)] = {label: int(n) for n, label in
                                 re.findall(r"(\d+) (\w+)", m.group(2))}
    return found


def _shown_matches(output: str) -> dict[str, list[tuple[float, str]]]:
    """The top matches the demo printed: candidate -> [(score, job id), ...] in printed order."""
    shown: dict[str, list[tuple[float, str]]] = {}
    current = None
    for line in _lines(output):
        head = re.match(r"top matches for (c-\d+)\b", line)
        if head:
            current = head.group(1)
            shown[current] = []
            continue
        words = line.split()
        if current and len(words) >= 2 and re.fullmatch(r"-?\d+\.\d+", words[0]) \
                and re.fullmatch(r"j-\d+", words[1]):
            shown[current].append((float(words[0]), words[1]))
    return shown


def _state(db: str) -> dict[str, Any]:
    with psycopg.connect(db) as conn:
        latest = dict(conn.execute(
            "SELECT asset, count(*) FILTER (WHERE status = 'materialized') "
            "FROM partition_latest GROUP BY asset").fetchall())
        runs = {r[0] for r in conn.execute(
            "SELECT DISTINCT flow_run_id FROM materializations")}
        calls = conn.execute("SELECT provider || '/' || model, count(*) FROM llm_calls "
                             "GROUP BY 1").fetchall()
        history = conn.execute("SELECT count(*) FROM materializations").fetchone()[0]
        stored = {cid: list(zip(scores, jobs, strict=True)) for cid, jobs, scores in
                  conn.execute("SELECT candidate_id, job_ids, scores FROM candidate_matches")}
        first = [r[0] for r in conn.execute(
            "SELECT candidate_id FROM candidate_matches ORDER BY candidate_id LIMIT 2")]
    return {"latest": latest, "runs": runs, "calls": dict(calls), "history": history,
            "stored": stored, "first": first}


def _agrees_with_stored(shown: dict[str, list[tuple[float, str]]], state: dict[str, Any]
                        ) -> None:
    for cid, printed in shown.items():
        top = state["stored"][cid][:3]
        assert [job for _, job in printed] == [job for _, job in top], (cid, printed, top)
        for (score, _), (stored, _) in zip(printed, top, strict=True):
            assert abs(score - stored) <= 0.0005 + 1e-6  # printed with 3 decimals


def test_demo_twice(db: str) -> None:
    from talentflow.cli.app import app

    runner = CliRunner()
    first = runner.invoke(app, ["demo", "--show", "2"])
    assert first.exit_code == 0, first.output
    assert _ingested(first.output) == {
        "candidates": {"new": 240, "changed": 0, "unchanged": 0, "quarantined": 0},
        "jobs": {"new": 220, "changed": 0, "unchanged": 0, "quarantined": 0}}
    report = _report(first.output)
    for asset in ASSETS:
        side = 240 if "candidate" in asset else 220
        assert report[asset]["ran"] == side, (asset, report[asset])
        assert report[asset]["failed"] == 0 and report[asset]["blocked"] == 0
    # What it says it did is what the database holds.
    state = _state(db)
    assert state["latest"] == {"candidates": 240, "jobs": 220,
                               **{a: 240 if "candidate" in a else 220 for a in ASSETS}}
    assert state["calls"] == {"rules/rules-v1": 460}
    assert any(re.search(r"\brules/rules-v1: 460 call\(s\)", line)
               for line in _lines(first.output))
    assert len(state["runs"] - {None}) == 1  # one flow run did it all
    shown = _shown_matches(first.output)
    assert list(shown) == state["first"] and all(len(m) == 3 for m in shown.values())
    _agrees_with_stored(shown, state)

    second = runner.invoke(app, ["demo", "--show", "1"])
    assert second.exit_code == 0, second.output
    assert _ingested(second.output) == {
        "candidates": {"new": 0, "changed": 0, "unchanged": 240, "quarantined": 0},
        "jobs": {"new": 0, "changed": 0, "unchanged": 220, "quarantined": 0}}
    assert "nothing to do: every partition is up to date" in " ".join(_lines(second.output))
    assert _report(second.output) == {}
    again = _state(db)
    # No flow run, no materialization, no LLM call.
    assert (again["runs"], again["history"], again["calls"]) == \
        (state["runs"], state["history"], state["calls"])
    shown = _shown_matches(second.output)
    assert list(shown) == state["first"][:1]
    _agrees_with_stored(shown, again)
