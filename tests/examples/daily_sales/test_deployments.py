"""examples/daily_sales/prefect.yaml against the code: valid for `prefect deploy`, each
entrypoint a flow of examples.daily_sales, the cron in the partition sets' timezone."""

from __future__ import annotations

from pathlib import Path

import yaml
from prefect.cli.deploy._models import PrefectYamlModel

from examples.daily_sales import flows
from examples.daily_sales.partitions import days, weeks
from talentflow.serving.deployments import load_flow

FILE = Path(flows.__file__).with_name("prefect.yaml")


def test_the_deployments_load_their_flows_on_the_partition_sets_timezone() -> None:
    raw = yaml.safe_load(FILE.read_text())
    PrefectYamlModel.model_validate(raw)  # what `prefect deploy` would refuse
    specs = {d["name"]: d for d in raw["deployments"]}
    assert set(specs) == {"daily-sales", "late-sales-sensor"}
    daily, sensor = specs["daily-sales"], specs["late-sales-sensor"]
    assert load_flow(daily["entrypoint"]) is flows.latest_complete_day
    assert load_flow(sensor["entrypoint"]) is flows.late_sales_sensor
    for name, spec in specs.items():
        assert load_flow(spec["entrypoint"]).name == name  # `prefect deployment run name/name`
    [cron] = daily["schedules"]
    assert cron == {"cron": "0 1,13 * * *", "timezone": days.timezone}
    assert days.timezone == weeks.timezone
    [interval] = sensor["schedules"]
    assert set(interval) == {"interval"} and interval["interval"] > 0
