"""`GET /assets/{name}/status` pages by key with the state filter in SQL, and
`GET /assets/{name}/status.svg` draws the status picture, after a real run."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient

from tests.support import checked_project as project


@pytest.fixture
def client(db: str, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    from talentflow.api import app
    from talentflow.engine import materialize

    project.create_tables(db, min_len=4)
    project.put_docs(db, {f"doc-{i:02d}": ("long text" if i % 3 else "no") for i in range(12)})
    project.put_docs(db, {"doc-99": "never run"})
    materialize(project.defs, ["tidy_docs"], keys=[f"doc-{i:02d}" for i in range(12)])
    monkeypatch.setenv("TALENTFLOW_DEFINITIONS", "tests.support.checked_project:defs")
    return TestClient(app)


def test_status_pages_follow_on_from_each_other(client: TestClient) -> None:
    first = client.get("/assets/tidy_docs/status", params={"state": "failed", "limit": 2}).json()
    assert first["counts"] == {"missing": 1, "running": 0, "materialized": 8, "failed": 4,
                               "stale": 0}
    assert [p["key"] for p in first["partitions"]] == ["doc-00", "doc-03"]
    assert first["truncated"] and first["next_after"] == "doc-03"
    assert first["partitions"][0]["reasons"] == ["check failed: long_enough"]
    rest = client.get("/assets/tidy_docs/status", params={
        "state": "failed", "limit": 2, "after": first["next_after"]}).json()
    assert [p["key"] for p in rest["partitions"]] == ["doc-06", "doc-09"]
    assert not rest["truncated"] and rest["next_after"] is None
    missing = client.get("/assets/tidy_docs/status", params={"state": "missing"}).json()
    assert [p["key"] for p in missing["partitions"]] == ["doc-99"]


def test_the_status_picture_is_served_as_svg(client: TestClient) -> None:
    response = client.get("/assets/tidy_docs/status.svg")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(response.text)
    texts = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert {"materialized 8", "check failed 4", "missing 1"} <= texts
    assert client.get("/assets/nope/status.svg").status_code == 404


def test_propagated_status_pages_follow_on_from_each_other(client: TestClient) -> None:
    """With `propagate`, the statuses stream by (every key counted, one page kept) and the
    pages, with `after`, together give exactly the filtered full status."""
    params = {"state": "failed", "limit": 3, "propagate": True}
    first = client.get("/assets/tidy_docs/status", params=params).json()
    assert first["counts"]["failed"] == 4 and first["counts"]["missing"] == 1
    assert [p["key"] for p in first["partitions"]] == ["doc-00", "doc-03", "doc-06"]
    assert first["truncated"] and first["next_after"] == "doc-06"
    rest = client.get("/assets/tidy_docs/status",
                      params={**params, "after": first["next_after"]}).json()
    assert [p["key"] for p in rest["partitions"]] == ["doc-09"]
    assert not rest["truncated"]
    # `after` need not be a key of a dynamic set: the page starts at the next key in order.
    between = client.get("/assets/tidy_docs/status",
                         params={**params, "after": "doc-04"}).json()
    assert [p["key"] for p in between["partitions"]] == ["doc-06", "doc-09"]
