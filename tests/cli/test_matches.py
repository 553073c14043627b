"""`talentflow matches KEY`: the stored top matches of one entity, each with why, through the
real CLI on a real pipeline run (embedded PostgreSQL, bundled MiniLM, rules normalizer).

Every expectation is read back from the tables with SQL: the stored list (candidate_matches /
job_matches) and the skills of both sides (normalized_candidates / normalized_jobs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from tests.support.talent_rows import CVS, JOBS, load_rows

runner = CliRunner()

# A job with a requirements line, so that some candidate lacks some must-have skills.
MUST_JOB = ("j-4", "Platform Engineer", "Infra GmbH", "Berlin",
            "We run Python services on AWS with Kubernetes.\n"
            "Must have: Python, Terraform, Rust\n"
            "Nice to have: Kafka")
WEIGHTS_FILE = Path(__file__).resolve().parents[2] / "data" / "match_weights.json"


def load_and_match(db: str) -> None:
    """The fixture rows plus MUST_JOB, through one batch run."""
    from flows.batch import talent_batch

    load_rows(db)
    with psycopg.connect(db) as conn:
        conn.execute("INSERT INTO jobs (id, title, company, location, description) "
                     "VALUES (%s, %s, %s, %s, %s)", list(MUST_JOB))
    result = talent_batch()
    assert result["ok"], result


def _fold(skills: list[str]) -> set[str]:
    return {" ".join(s.casefold().split()) for s in skills}


def _profiles(conn: psycopg.Connection, table: str, col: str) -> dict[str, dict[str, Any]]:
    return {r[0]: {"skills": list(r[1]), "must": list(r[2]), "title": r[3]}
            for r in conn.execute(f"SELECT {col}, skills, must_have_skills, "
                                  f"coalesce(target_title, title) FROM {table}").fetchall()}


def _stored(conn: psycopg.Connection, table: str, col: str, others: str, key: str
            ) -> tuple[list[str], list[float]]:
    ids, scores = conn.execute(f"SELECT {others}, scores FROM {table} WHERE {col} = %s",
                               [key]).fetchone()
    return list(ids), list(scores)


def _check_entry(entry: dict[str, Any], candidate: dict[str, Any], job: dict[str, Any],
                 weights: dict[str, float]) -> None:
    """One entry against the two profiles, from first principles."""
    assert -1.0 <= entry["dense"] <= 1.0
    assert 0.0 <= entry["lexical"] <= 1.0 + 1e-6
    assert 0.0 <= entry["skills"] <= 1.0 + 1e-6
    assert min(abs(entry["seniority"] - v) for v in (0, 1 / 3, 2 / 3, 1)) < 1e-5
    # the score is the weighted sum of the features it is explained by
    fused = sum(weights[f] * entry[f] for f in ("dense", "lexical", "skills", "seniority"))
    assert entry["score"] == pytest.approx(fused, abs=1e-4)
    # shared: the skills both have (case-insensitive), spelled as the job spells them
    assert _fold(entry["shared_skills"]) == _fold(job["skills"]) & _fold(candidate["skills"])
    assert len(entry["shared_skills"]) == len(_fold(entry["shared_skills"]))
    assert set(entry["shared_skills"]) <= set(job["skills"])
    # missing: the job's must-haves the candidate lacks, in the job's order
    have = _fold(candidate["skills"])
    assert entry["missing_must_haves"] == [s for s in job["must"]
                                           if " ".join(s.casefold().split()) not in have]
    other = job if entry["id"].startswith("j-") else candidate
    assert entry["title"] == other["title"]


def _text_entries(output: str) -> list[tuple[str, str]]:
    """(rank line, explanation line) pairs of the text output (after its header line)."""
    lines = output.rstrip("\n").splitlines()[1:]
    assert len(lines) % 2 == 0, output
    return list(zip(lines[::2], lines[1::2], strict=True))


def test_candidate_matches_are_the_stored_list_explained(db: str) -> None:
    from talentflow.cli.app import app

    load_and_match(db)
    weights = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))["weights"]
    with psycopg.connect(db) as conn:
        ids, scores = _stored(conn, "candidate_matches", "candidate_id", "job_ids", "c-1")
        candidates = _profiles(conn, "normalized_candidates", "candidate_id")
        jobs = _profiles(conn, "normalized_jobs", "job_id")
    assert sorted(ids) == sorted([*JOBS, "j-4"])  # four jobs: every one is in the list

    done = runner.invoke(app, ["matches", "c-1", "--json"])
    assert done.exit_code == 0, done.output
    view = json.loads(done.stdout)
    assert (view["id"], view["kind"], view["title"]) == ("c-1", "candidate",
                                                         candidates["c-1"]["title"])
    entries = view["matches"]
    assert 0 < len(entries) <= 10
    assert [m["id"] for m in entries] == ids[:10]
    assert [m["score"] for m in entries] == pytest.approx(scores[:10], abs=1e-5)
    assert all(a["score"] >= b["score"] for a, b in zip(entries, entries[1:], strict=False))
    assert entries[0]["id"] == "j-1"  # the planted near-identical posting
    for entry in entries:
        _check_entry(entry, candidates["c-1"], jobs[entry["id"]], weights)
    # the example is not vacuous: some skills are shared, some must-haves are missing
    by_id = {m["id"]: m for m in entries}
    assert len(by_id["j-1"]["shared_skills"]) >= 3
    assert by_id["j-4"]["missing_must_haves"]
    assert any(not m["shared_skills"] for m in entries)

    # --top
    top2 = runner.invoke(app, ["matches", "c-1", "--json", "--top", "2"])
    assert top2.exit_code == 0, top2.output
    assert json.loads(top2.stdout)["matches"] == entries[:2]

    # text: every id, best first, "shared:" exactly where skills are shared
    text = runner.invoke(app, ["matches", "c-1"])
    assert text.exit_code == 0, text.output
    assert text.stdout.splitlines()[0].startswith("candidate c-1 ")
    pairs = _text_entries(text.stdout)
    assert len(pairs) == len(entries)
    for rank, ((head, why), entry) in enumerate(zip(pairs, entries, strict=True), 1):
        assert head.split()[:3] == [f"{rank}.", f"{entry['score']:.3f}", entry["id"]]
        if entry["shared_skills"]:
            assert "shared: " + ", ".join(entry["shared_skills"][:8]) in why
        else:
            assert "shared:" not in why
        if entry["missing_must_haves"]:
            assert "missing must-haves: " + ", ".join(entry["missing_must_haves"]) in why
        else:
            assert "missing must-haves" not in why


def test_job_matches_with_kind_job(db: str) -> None:
    from talentflow.cli.app import app

    load_and_match(db)
    weights = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))["weights"]
    with psycopg.connect(db) as conn:
        candidates = _profiles(conn, "normalized_candidates", "candidate_id")
        jobs = _profiles(conn, "normalized_jobs", "job_id")
        stored = {key: _stored(conn, "job_matches", "job_id", "candidate_ids", key)[0]
                  for key in ("j-1", "j-4")}
    for key in ("j-1", "j-4"):
        done = runner.invoke(app, ["matches", key, "--kind", "job", "--json"])
        assert done.exit_code == 0, done.output
        view = json.loads(done.stdout)
        assert (view["id"], view["kind"], view["title"]) == (key, "job", jobs[key]["title"])
        assert [m["id"] for m in view["matches"]] == stored[key][:10]
        assert sorted(stored[key]) == sorted(CVS)
        for entry in view["matches"]:
            _check_entry(entry, candidates[entry["id"]], jobs[key], weights)
    # the planted pair, seen from the job's side
    done = runner.invoke(app, ["matches", "j-1", "--kind", "job"])
    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines()[0].startswith("job j-1 ")
    assert _text_entries(done.stdout)[0][0].split()[2] == "c-1"


def _one_line_failure(result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_unknown_id_exits_1_with_one_line(db: str) -> None:
    from talentflow.cli.app import app

    load_rows(db)
    line = _one_line_failure(runner.invoke(app, ["matches", "c-404"]), 1)
    assert "c-404" in line
    # a candidate id asked for as a job is unknown too
    line = _one_line_failure(runner.invoke(app, ["matches", "c-1", "--kind", "job"]), 1)
    assert "c-1" in line and "job" in line


def test_entity_without_a_list_exits_1_and_says_so(db: str) -> None:
    from talentflow.cli.app import app

    load_rows(db)  # rows, but no run: nothing is matched yet
    line = _one_line_failure(runner.invoke(app, ["matches", "c-1", "--json"]), 1)
    assert "c-1" in line and "no match list" in line
    assert "candidate_matches" in line  # and what to materialize


def test_bad_kind_exits_2(db: str) -> None:
    from talentflow.cli.app import app

    line = _one_line_failure(runner.invoke(app, ["matches", "c-1", "--kind", "team"]), 2)
    assert "team" in line and "candidate" in line and "job" in line
