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


def test_serve_reads_the_cron_schedule_in_its_timezone() -> None:
    from talentflow.serving.deployments import read, schedules

    specs = {s.name: s for s in read(FILE)}
    [cron] = schedules(specs["daily-sales"])
    assert (cron.cron, cron.timezone) == ("0 1,13 * * *", days.timezone)
    [interval] = schedules(specs["late-sales-sensor"])
    assert interval.interval.total_seconds() == 300


def test_serve_refuses_a_schedule_it_cannot_run(tmp_path: Path) -> None:
    import pytest

    from talentflow.serving.deployments import read

    raw = yaml.safe_load(FILE.read_text())
    raw["deployments"][0]["schedules"] = [{"cron": "0 1 * * *", "timezone": "Mars/Olympus"}]
    bad = tmp_path / "prefect.yaml"
    bad.write_text(yaml.safe_dump(raw))
    with pytest.raises(ValueError, match="unknown timezone 'Mars/Olympus'"):
        read(bad)
    raw["deployments"][0]["schedules"] = [{"rrule": "FREQ=DAILY"}]
    bad.write_text(yaml.safe_dump(raw))
    with pytest.raises(ValueError, match="serve takes interval schedules and cron"):
        read(bad)
