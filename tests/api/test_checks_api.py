"""`GET /checks` and check failures in `GET /assets/{name}/status`, on a real run."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support import checked_project as project


def test_check_results_and_status_over_http(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from talentflow.api import app
    from talentflow.engine import materialize

    project.create_tables(db, min_len=4)
    project.put_docs(db, {"a": "alpha", "b": "hi"})
    materialize(project.defs, ["tidy_docs"])
    monkeypatch.setenv("TALENTFLOW_DEFINITIONS", "tests.support.checked_project:defs")
    client = TestClient(app)

    body = client.get("/checks").json()
    by_name = {c["name"]: c for c in body["checks"]}
    assert by_name["long_enough"]["blocking"] is True
    assert (by_name["long_enough"]["passed"], by_name["long_enough"]["failed"]) == (1, 1)
    failed = client.get("/checks", params={"failed": True}).json()["results"]
    assert [(r["check"], r["key"], r["metadata"]["length"]) for r in failed] == [
        ("long_enough", "b", 2)]

    status = client.get("/assets/tidy_docs/status", params={"state": "failed"}).json()
    assert [(p["key"], p["reasons"], p["reason_kinds"]) for p in status["partitions"]] == [
        ("b", ["check failed: long_enough"], ["check_failed"])]
    assert client.get("/checks", params={"check": "nope"}).status_code == 404
    assert client.get("/checks", params={"asset": "nope"}).status_code == 404
