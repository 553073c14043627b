"""The REST API answers from the same bulk queries as the CLI, on a real database."""

from __future__ import annotations

import psycopg
import pytest
from fastapi.testclient import TestClient

from talentflow.partitions import Record, observe, record_many


@pytest.fixture
def client(db: str, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    from talentflow.api import app

    return TestClient(app)


def test_status_and_lineage_of_partitions(db: str, client: TestClient) -> None:
    from tasks.definitions import defs

    normalized = defs.get("normalized_candidates")
    source = defs.get("candidates")
    with psycopg.connect(db) as conn:
        from talentflow.partitions import registry

        registry.add_keys(conn, "candidates", ["c-1", "c-2", "c-3"])
        observe(conn, source, [("c-1", "h1"), ("c-2", "h2")])
        record_many(conn, normalized, [
            Record("c-1", "n1", inputs={("candidates", "c-1"): "h1"}),
            Record("c-2", "n2", inputs={("candidates", "c-2"): "old"}),
        ])
        conn.commit()

    body = client.get("/assets/normalized_candidates/status").json()
    assert body["counts"]["materialized"] == 1
    assert body["counts"]["stale"] == 1
    assert body["counts"]["missing"] == 1
    stale = client.get("/assets/normalized_candidates/status", params={"state": "stale"}).json()
    assert [p["key"] for p in stale["partitions"]] == ["c-2"]
    assert "candidates" in stale["partitions"][0]["reasons"][0]

    lineage = client.get("/assets/normalized_candidates/partitions/c-1").json()
    assert lineage["status"] == "materialized"
    assert lineage["materializations"][0]["data_version"] == "n1"
    assert lineage["materializations"][0]["inputs"] == [
        {"asset": "candidates", "key": "c-1", "data_version": "h1"}
    ]


def test_clear_errors_for_unknown_things(db: str, client: TestClient) -> None:
    response = client.get("/assets/nope/status")
    assert response.status_code == 404 and "unknown asset 'nope'" in response.json()["detail"]
    response = client.get("/assets/normalized_candidates/status", params={"state": "bogus"})
    assert response.status_code == 422
    response = client.get("/assets/normalized_candidates/partitions/c-404")
    assert response.status_code == 404
    assert client.get("/costs", params={"by": "weather"}).status_code == 422
    assert client.get("/costs").json() == []


def _flow_runs() -> int:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as prefect:
        return len(prefect.read_flow_runs(limit=200))


def _delete_deployment(name: str) -> None:
    from contextlib import suppress

    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as prefect, suppress(ObjectNotFound):
        prefect.delete_deployment(prefect.read_deployment_by_name(name).id)


def test_launch_checks_the_selection_then_creates_a_flow_run(
        db: str, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from uuid import UUID

    from prefect.client.orchestration import get_client

    from flows.materialize import materialize_flow
    from tests.support.talent_rows import load_rows

    load_rows(db)
    body = {"assets": ["normalized_candidates"], "partition_key": "c-1"}
    auth = {"Authorization": "Bearer s3cret"}
    # No token configured on the server: changes are refused, never open by default.
    refused = client.post("/materialize", json=body, headers=auth)
    assert refused.status_code == 401 and "TALENTFLOW_API_TOKEN" in refused.json()["detail"]
    monkeypatch.setenv("TALENTFLOW_API_TOKEN", "s3cret")
    _delete_deployment("materialize/materialize")  # another test's, on the shared test API
    missing = client.post("/materialize", json=body, headers=auth)
    assert missing.status_code == 409 and "no deployment" in missing.json()["detail"]

    deployment_id = materialize_flow.to_deployment(name="materialize").apply()
    bad = client.post("/materialize", json={**body, "partition_key": "c-404"}, headers=auth)
    assert bad.status_code == 422 and "not registered" in bad.json()["detail"]
    unknown = client.post("/materialize", json={"assets": ["nope"]}, headers=auth)
    assert unknown.status_code == 422 and "unknown asset 'nope'" in unknown.json()["detail"]

    before = _flow_runs()
    assert client.post("/materialize", json=body).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert client.post("/materialize", json=body, headers=wrong).status_code == 401
    assert _flow_runs() == before  # a refused request changed nothing
    from prefect.settings import PREFECT_UI_URL, temporary_settings

    with temporary_settings(updates={PREFECT_UI_URL: "http://127.0.0.1:4200"}):
        ok = client.post("/materialize", json=body, headers=auth)
    assert ok.status_code == 201, ok.json()
    with get_client(sync_client=True) as prefect:
        run = prefect.read_flow_run(UUID(ok.json()["flow_run_id"]))
    assert run.deployment_id == deployment_id
    assert run.parameters == body
    assert ok.json()["flow_run_url"] == f"http://127.0.0.1:4200/runs/flow-run/{run.id}"
    # An API serving other definitions launches runs on those.
    monkeypatch.setenv("TALENTFLOW_DEFINITIONS", "tasks.definitions:defs")
    again = client.post("/materialize", json=body, headers=auth)
    assert again.status_code == 201, again.json()
    assert again.json()["parameters"] == {**body, "definitions": "tasks.definitions:defs"}


def test_reads_are_open_unless_protected(db: str, client: TestClient,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    assert client.get("/assets").status_code == 200
    monkeypatch.setenv("TALENTFLOW_API_TOKEN", "s3cret")
    monkeypatch.setenv("TALENTFLOW_API_PROTECT_READS", "1")
    assert client.get("/assets").status_code == 401
    assert client.get("/costs", headers={"Authorization": "Bearer no"}).status_code == 401
    assert client.get("/assets", headers={"Authorization": "Bearer s3cret"}).status_code == 200
