"""`prefect.yaml` -> runner deployments: the file is the one place deployments and their
triggers are written down; `talentflow serve` reads it instead of repeating it in Python.

Entrypoints stay path based (`flows/candidates.py:candidate_pipeline`, what `prefect deploy`
expects). A path inside the project is imported as its package module (`flows.candidates`)
so the flow object is the same one the rest of the code imports, loaded once and kept warm.
Work pools in the file are for `prefect deploy`; serving ignores them (served deployments
are run by the serving process).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.deployments.runner import RunnerDeployment

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PROJECT_FILE = PROJECT_ROOT / "prefect.yaml"


@dataclass
class DeploymentSpec:
    """One entry of `deployments:` in prefect.yaml, as serving uses it."""

    name: str
    entrypoint: str
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    intervals: list[float] = field(default_factory=list)  # seconds
    crons: list[tuple[str, str]] = field(default_factory=list)  # (cron, timezone)
    triggers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def flow_name(self) -> str:
        return self.load_flow().name

    @property
    def full_name(self) -> str:
        """`flow-name/deployment-name`, as `prefect deployment run` wants it."""
        return f"{self.flow_name}/{self.name}"

    def load_flow(self) -> Flow:
        return load_flow(self.entrypoint)


def read(path: Path = PROJECT_FILE) -> list[DeploymentSpec]:
    """The deployments of a prefect.yaml, checked with Prefect's own model of the file."""
    from prefect.cli.deploy._models import PrefectYamlModel

    raw = yaml.safe_load(path.read_text()) or {}
    PrefectYamlModel.model_validate(raw)  # what `prefect deploy` would reject, we reject too
    specs = []
    for entry in raw.get("deployments") or []:
        if not entry.get("name") or not entry.get("entrypoint"):
            raise ValueError(f"{path}: every deployment needs a name and an entrypoint: {entry}")
        schedules = list(entry.get("schedules") or [])
        if entry.get("schedule"):
            schedules.append(entry["schedule"])
        intervals: list[float] = []
        crons: list[tuple[str, str]] = []
        for s in schedules:
            if "interval" in s and not set(s) - {"interval", "active"}:
                if s.get("active", True):
                    intervals.append(_seconds(s["interval"]))
            elif "cron" in s and not set(s) - {"cron", "timezone", "active"}:
                _check_cron(path, entry["name"], s)
                if s.get("active", True):
                    crons.append((str(s["cron"]), str(s.get("timezone") or "UTC")))
            else:
                raise ValueError(f"{path}: {entry['name']}: serve takes interval schedules "
                                 f"and cron schedules with a timezone (got {s})")
        specs.append(DeploymentSpec(
            name=entry["name"], entrypoint=entry["entrypoint"],
            description=entry.get("description"), tags=list(entry.get("tags") or []),
            parameters=dict(entry.get("parameters") or {}), intervals=intervals, crons=crons,
            triggers=[dict(t) for t in entry.get("triggers") or []],
        ))
    return specs


def _check_cron(path: Path, name: str, schedule: dict[str, Any]) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from croniter import croniter

    if not croniter.is_valid(str(schedule["cron"])):
        raise ValueError(f"{path}: {name}: {schedule['cron']!r} is not a cron expression")
    try:
        ZoneInfo(str(schedule.get("timezone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{path}: {name}: unknown timezone {schedule.get('timezone')!r}"
                         ) from None


def _seconds(value: Any) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


def load_flow(entrypoint: str, root: Path = PROJECT_ROOT) -> Flow:
    """The flow object an entrypoint `path/to/file.py:function` names."""
    from prefect import Flow

    path, _, attr = entrypoint.rpartition(":")
    if not path or not attr:
        raise ValueError(f"entrypoint {entrypoint!r} is not of the form path/to/file.py:flow")
    file = (root / path).resolve()
    if file.suffix == ".py" and file.is_relative_to(root):
        module = importlib.import_module(".".join(file.relative_to(root).with_suffix("").parts))
        obj = getattr(module, attr)
    else:
        from prefect.flows import load_flow_from_entrypoint

        obj = load_flow_from_entrypoint(entrypoint)
    if not isinstance(obj, Flow):
        raise TypeError(f"entrypoint {entrypoint!r} is a {type(obj).__name__}, not a flow")
    return obj


def triggers(spec: DeploymentSpec) -> list[Any]:
    """The spec's triggers as Prefect trigger objects (validated like `prefect deploy` does)."""
    from prefect.events import DeploymentTriggerTypes
    from pydantic import TypeAdapter

    adapter: TypeAdapter[Any] = TypeAdapter(DeploymentTriggerTypes)
    out = []
    for i, t in enumerate(spec.triggers, start=1):
        out.append(adapter.validate_python({"name": f"{spec.name}__automation_{i}", **t}))
    return out


def schedules(spec: DeploymentSpec, *, now: datetime | None = None) -> list[Any]:
    """The spec's schedules: cron ones as written (in their timezone), interval ones each
    anchored one interval from now.

    Prefect anchors an interval schedule at the moment it is created when no anchor is given,
    and `talentflow serve` re-applies every deployment at each start: every (re)start would
    get a run right away, racing whatever the operator or a test does first. serve kicks the
    runs it wants at start itself (one `reconcile`); the schedule's first run comes one
    interval later."""
    from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule

    now = now or datetime.now(UTC)
    return [IntervalSchedule(interval=timedelta(seconds=s),
                             anchor_date=now + timedelta(seconds=s)) for s in spec.intervals] \
        + [CronSchedule(cron=cron, timezone=tz) for cron, tz in spec.crons]


def to_runner_deployment(spec: DeploymentSpec) -> RunnerDeployment:
    """A served deployment (no work pool) of the spec's flow, with its schedules and triggers."""
    flow = spec.load_flow()
    return flow.to_deployment(
        name=spec.name,
        schedules=schedules(spec) or None,
        parameters=spec.parameters or None,
        triggers=triggers(spec),
        description=spec.description,
        tags=spec.tags or None,
    )
