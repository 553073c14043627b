"""What each generation asset's code version covers: its own modules, the completion client
and the cost ledger — not the talent application, and not the package's front doors. An edit
of the talent normalizer (or of the demo, the estimator, the flows) must never make a single
generation stale."""

from __future__ import annotations

from examples.generation import defs
from talentflow.partitions.versions import code_parts


def reached(asset: str) -> set[str]:
    a = defs.bind().get(asset)
    return {label.split(":", 1)[1] for label in code_parts([a.fn, *a.code])}


def test_stages_reach_their_code_and_nothing_of_the_talent_application() -> None:
    for stage in ("draft", "essay", "evaluation"):
        modules = reached(stage)
        assert {"examples.generation.assets", "examples.generation.prompts",
                "examples.generation.evaluation", "examples.generation.llm",
                "talentflow.llm.completion", "talentflow.costs.ledger"} <= modules
        assert not {m for m in modules if m.startswith(("talentflow.talent", "tasks", "flows"))}
        assert not modules & {"talentflow.llm.base", "talentflow.llm.rules",
                              "talentflow.llm.openai_normalizer", "talentflow.costs.tokens",
                              "talentflow.costs.estimate", "talentflow.costs.reports"}
        assert not modules & {"examples.generation", "examples.generation.definitions",
                              "examples.generation.estimate", "examples.generation.flows",
                              "examples.generation.demo", "examples.generation.cohorts"}


def test_the_cohort_and_the_scores_reach_only_what_they_use() -> None:
    assert reached("cohort") == {
        "examples.generation.cohorts", "examples.generation.membership",
        "examples.generation.partitions", "examples.generation.paths",
        "examples.generation.templates", "talentflow", "talentflow.config"}
    assert reached("scores_by_template_model") == {
        "examples.generation.aggregate", "examples.generation.partitions",
        "examples.generation.paths", "examples.generation.store", "talentflow",
        "talentflow.config"}
