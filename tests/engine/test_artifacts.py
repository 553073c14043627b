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
