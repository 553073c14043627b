"""prefect.yaml against the code: names are defined once (talentflow/events.py, the flows) and
the file must not drift from them. No server needed."""

from __future__ import annotations

from talentflow import events
from talentflow.serving import deployments
from talentflow.talent.entities import ENTITIES


def test_every_deployment_loads_and_is_path_based() -> None:
    specs = {s.name: s for s in deployments.read()}
    assert set(specs) == {"materialize", "reconcile", "candidate-pipeline", "job-pipeline",
                          "new-rows-sensor", "talent-batch"}
    for spec in specs.values():
        path = spec.entrypoint.split(":", 1)[0]
        assert path.startswith("flows/") and path.endswith(".py"), spec.entrypoint
        assert spec.full_name == f"{spec.name}/{spec.name}"  # `prefect deployment run` names
        deployments.triggers(spec)  # valid Prefect trigger objects
    # Quiet by default: one schedule (reconcile); the sensor ticks inside serve on NOTIFY.
    assert not specs["new-rows-sensor"].intervals
    assert [s.name for s in specs.values() if s.intervals] == ["reconcile"]


def test_triggers_use_the_event_names_resources_and_labels_of_talentflow_events() -> None:
    specs = {s.name: s for s in deployments.read()}
    for kind, ent in ENTITIES.items():
        [trigger] = specs[f"{kind}-pipeline"].triggers
        assert trigger["match"] == {"prefect.resource.id": events.resource_prefix(kind)}
        assert set(trigger["expect"]) == {events.event_name(kind, events.REGISTERED),
                                          events.event_name(kind, events.CHANGED)}
        assert trigger["for_each"] == ["prefect.resource.id", events.CHANGE_SEQ_LABEL]
        assert trigger["parameters"] == {
            ent.id_column: f"{{{{ event.resource['{events.KEY_LABEL}'] }}}}"}
        flow = specs[f"{kind}-pipeline"].load_flow()
        assert ent.id_column in flow.parameters.properties
