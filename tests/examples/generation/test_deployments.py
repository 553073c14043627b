"""examples/generation/prefect.yaml against the code: what `talentflow serve --project` and
`prefect deploy` read, each entrypoint a flow of examples.generation with the parameters it
passes."""

from __future__ import annotations

from pathlib import Path

from examples.generation import flows
from talentflow.serving import deployments

FILE = Path(flows.__file__).with_name("prefect.yaml")


def test_generate_cohort_is_deployed_as_serve_reads_it() -> None:
    specs = {s.name: s for s in deployments.read(FILE)}  # validated as `prefect deploy` does
    assert set(specs) == {"generate-cohort"}
    spec = specs["generate-cohort"]
    assert spec.load_flow() is flows.generate_cohort
    assert spec.full_name == "generate-cohort/generate-cohort"
    assert set(spec.parameters) <= set(spec.load_flow().parameters.properties)
    assert spec.parameters["cohort_id"] == "demo"
    assert (Path(flows.__file__).parents[2] / "data" / "cohorts" / "demo" /
            "membership.csv").is_file()  # the default parameter names a cohort that exists
    assert not spec.intervals and not spec.triggers  # run by hand or by a caller
