"""`talentflow --definitions examples.generation costs estimate`: the generation estimator,
found through the generic hook, counts the real prompts before anything is generated."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

import pytest
from click.testing import Result
from typer.testing import CliRunner

from examples.generation import cost_estimator
from examples.generation.flows import generate_cohort
from talentflow.costs import tokens
from talentflow.costs.estimate import find_estimator
from tests.examples.generation.conftest import SMALL, Dirs, write_cohort


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    from talentflow.cli.app import app

    # --definitions sets this variable for the process: restore it after each test.
    monkeypatch.setenv("TALENTFLOW_DEFINITIONS", "examples.generation")
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, ["--definitions", "examples.generation", "costs",
                                   "estimate", *args])

    return invoke


def test_the_hook_is_found_next_to_the_definitions() -> None:
    assert find_estimator("examples.generation") is cost_estimator
    assert find_estimator("examples.generation:defs") is cost_estimator
    assert find_estimator("tasks.definitions:defs") is None  # the talent estimate applies
    assert find_estimator("no_such_module:defs") is None


def draft_prompt_tokens(dirs: Dirs, model: str) -> int:
    """The draft prompts of SMALL for one model, built from the files by hand and counted."""
    combos = dirs.combos()
    total = 0
    for row in SMALL:
        if row["draft_model"] != model:
            continue
        template = dirs.template("draft", row["draft_template"]).read_text()
        text = template.replace("{concepts}", ", ".join(combos[row["combo"]])).rstrip()
        total += tokens.count_messages([{"role": "user", "content": text}])
    return total


Cli = Callable[..., Result]


def test_a_cohort_is_estimated_before_it_is_registered(gdb: str, dirs: Dirs, cli: Cli) -> None:
    write_cohort(dirs, "small", SMALL)
    result = cli("--asset", "cohort", "small")
    assert result.exit_code == 0, result.output
    out = result.output
    for stage in ("draft", "essay", "evaluation"):
        assert (f"estimate for {stage}: 8 key(s) (cohort small: failed/missing/stale of 8 "
                "listed)") in out
    for model, (price_in, price_out) in (("gpt-4o-mini", ("0.15", "0.60")),
                                         ("gpt-4.1-nano", ("0.10", "0.40"))):
        n = draft_prompt_tokens(dirs, model)
        assert f"{model}: 4 call(s), {n:,} prompt tokens" in out
        # No history: the draft templates' ratio (3 completion tokens per prompt token).
        usd = n * (Decimal(price_in) + 3 * Decimal(price_out)) / 1_000_000
        assert f"${usd:.6f} expected" in out
    assert "8 essay prompt(s) hold a parent draft not generated yet" in out
    assert "gpt-4.1-mini: 8 call(s)" in out  # the judge
    assert re.search(r"total: 24 call\(s\), \$\d+\.\d{6} expected", out)
    assert "configured completion provider is 'offline'" in out


def test_after_generating_nothing_is_left_and_samples_are_exact(gdb: str, dirs: Dirs,
                                                               cli: Callable[..., Result]
                                                               ) -> None:
    write_cohort(dirs, "small", SMALL)
    assert generate_cohort("small")["ok"]
    nothing = cli()
    assert nothing.exit_code == 0, nothing.output
    assert nothing.output.count("0 key(s) (failed/missing/stale of 8): nothing to run, $0") == 3
    sample = cli("--asset", "essay", "--sample", "3", "--seed", "1", "--model", "gpt-4o")
    assert sample.exit_code == 0, sample.output
    assert "estimate for essay: 3 key(s) (random sample of 3 (seed 1) of 8)" in sample.output
    assert "gpt-4o: 3 call(s)" in sample.output and "not generated yet" not in sample.output
    # The ledger's offline rows are not history of a real model.
    assert "no history of gpt-4o" in sample.output


@pytest.mark.parametrize(("args", "message"), [
    (("--asset", "normalized_candidates"), "asset 'normalized_candidates' makes no LLM calls; "
                                           "choose one of draft, essay, evaluation, cohort"),
    (("c01|scene|gpt-4o-mini",), "explicit keys need --asset"),
    (("--asset", "draft", "c01|nope|m"), "1 key(s) are not registered in 'drafts'"),
    (("--asset", "cohort", "absent"), "no cohort 'absent'"),
])
def test_selections_that_cannot_be_estimated_say_why(gdb: str, dirs: Dirs,
                                                      cli: Callable[..., Result],
                                                      args: tuple[str, ...],
                                                      message: str) -> None:
    result = cli(*args)
    assert result.exit_code != 0
    assert message in result.output
