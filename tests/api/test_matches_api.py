"""`GET /matches/{kind}/{key}`: the same explained match list as `talentflow matches --json`,
and 404s that say what is missing."""

from __future__ import annotations

import json

import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.support.talent_rows import JOBS, load_rows


@pytest.fixture
def client(db: str, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    from talentflow.api import app

    return TestClient(app)


def test_matches_of_a_candidate_and_a_job(db: str, client: TestClient) -> None:
    from flows.batch import talent_batch
    from talentflow.cli.app import app

    load_rows(db)
    assert talent_batch()["ok"]
    with psycopg.connect(db) as conn:
        stored = conn.execute("SELECT job_ids FROM candidate_matches WHERE candidate_id = %s",
                              ["c-1"]).fetchone()[0]

    response = client.get("/matches/candidate/c-1")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == "c-1" and body["kind"] == "candidate"
    assert [m["id"] for m in body["matches"]] == list(stored)
    assert sorted(stored) == sorted(JOBS)
    assert body["matches"][0]["id"] == "j-1"
    assert {"score", "dense", "lexical", "skills", "seniority", "shared_skills",
            "missing_must_haves", "title"} <= body["matches"][0].keys()

    # the same content as the CLI's JSON
    cli = CliRunner().invoke(app, ["matches", "c-1", "--json"])
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.stdout) == body

    top1 = client.get("/matches/candidate/c-1", params={"top": 1})
    assert top1.status_code == 200 and top1.json()["matches"] == body["matches"][:1]

    job = client.get("/matches/job/j-1")
    assert job.status_code == 200, job.text
    cli = CliRunner().invoke(app, ["matches", "j-1", "--kind", "job", "--json"])
    assert json.loads(cli.stdout) == job.json()
    assert job.json()["matches"][0]["id"] == "c-1"


def test_unknown_ids_and_kinds_are_404(db: str, client: TestClient) -> None:
    load_rows(db)
    response = client.get("/matches/candidate/c-404")
    assert response.status_code == 404
    assert "c-404" in response.json()["detail"]
    # known, but no run yet: no list
    response = client.get("/matches/candidate/c-1")
    assert response.status_code == 404
    assert "no match list" in response.json()["detail"]
    # a job id asked for as a candidate
    assert client.get("/matches/candidate/j-1").status_code == 404
    response = client.get("/matches/team/c-1")
    assert response.status_code == 404 and "team" in response.json()["detail"]
    assert client.get("/matches/candidate/c-1", params={"top": 0}).status_code == 422
