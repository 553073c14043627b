"""What a materialize run shows on its Prefect flow run page: per-partition metadata of its
DataFrame values (row counts, date ranges, column types, a preview) and its run summary."""

from __future__ import annotations

import json

import pandas as pd

from talentflow.engine import Definitions, TimeWindowPartitions, asset, materialize
from talentflow.engine.artifacts import artifact_key
from talentflow.engine.frames import DataFrameStore


def _artifacts(flow_run_id: str) -> dict[str, object]:
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(flow_run_id)])))
    return {a.key: a.data for a in found}


def _table(data: object) -> list[dict]:
    return data if isinstance(data, list) else json.loads(data)  # type: ignore[arg-type]


def test_dataframe_partitions_show_their_metadata_as_artifacts(db: str) -> None:
    days = TimeWindowPartitions.daily("art_days", "2026-01-01", end="2026-01-04")
    sizes = {"2026-01-01": 3, "2026-01-02": 5, "2026-01-03": 2}

    @asset(partitions=days, store=DataFrameStore())
    def day_orders(key: str) -> pd.DataFrame:
        n = sizes[key]
        start = pd.Timestamp(key, tz="UTC")
        return pd.DataFrame({"at": [start + pd.Timedelta(hours=h) for h in range(n)],
                             "amount": [float(10 * h) for h in range(n)],
                             "shop": [f"s|{h}" for h in range(n)]})

    report = materialize(Definitions(assets=[day_orders]), ["day_orders"])
    assert report.ok and report.flow_run_id
    found = _artifacts(report.flow_run_id)

    table = _table(found["day-orders-partitions"])
    assert [(r["partition"], r["rows"]) for r in table] == sorted(sizes.items())
    assert table[1]["date range"].startswith("2026-01-02T00:00:00")
    assert "2026-01-02T04:00:00" in table[1]["date range"]
    latest = str(found["day-orders-latest"])
    assert "### day_orders [2026-01-03]" in latest and "**2 rows**" in latest
    assert "| amount | float64 |" in latest
    assert "s\\|1" in latest  # a pipe in a value does not break the preview table
    run = {r["asset"]: r for r in _table(found["materialize-run"])}
    assert run["day_orders"]["ran"] == 3


def test_artifact_keys_are_what_prefect_accepts() -> None:
    assert artifact_key("Day_Orders", "partitions") == "day-orders-partitions"
    assert artifact_key("émoji__x", "latest") == "moji-x-latest"


def _latest_markdown(key: str) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=[key])), sort=ArtifactSort.CREATED_DESC, limit=1)
    assert found, f"no artifact {key!r}"
    return str(found[0].data)


def test_every_run_refreshes_the_partition_view_of_its_assets(db: str) -> None:
    import base64
    import re
    import xml.etree.ElementTree as ET

    from talentflow.db import connect
    from talentflow.engine import DynamicPartitions
    from talentflow.partitions import registry

    docs = DynamicPartitions("view_docs")
    broken = {"d2"}

    @asset(partitions=docs)
    def view_lengths(key: str) -> int:
        if key in broken:
            raise ValueError(f"cannot measure {key}")
        return len(key)

    defs = Definitions(assets=[view_lengths])
    with connect() as conn:
        registry.add_keys(conn, "view_docs", ["d1", "d2", "d3", "d4"])
        conn.commit()
    materialize(defs, ["view_lengths"], keys=["d1", "d2", "d3"])
    view = _latest_markdown("partitions-view-lengths")
    assert "| 1 | 0 | 0 | 1 | 0 | 2 |" in view  # failed, check failed, stale, missing, ...
    assert re.search(r"\| d2 \| failed \| failed: ValueError: cannot measure d2 \| failed \|",
                     view), view
    assert "| d4 | missing |" in view
    svg = base64.b64decode(re.search(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)",
                                     view).group(1)).decode()
    texts = {t.text for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")}
    assert {"materialized 2", "failed 1", "missing 1"} <= texts
    assert "/assets/view_lengths/status?state=failed" in view

    # A single-key run refreshes it too.
    broken.clear()
    materialize(defs, ["view_lengths"], keys=["d2"])
    view = _latest_markdown("partitions-view-lengths")
    assert "| 0 | 0 | 0 | 1 | 0 | 3 |" in view and "| d2 |" not in view
