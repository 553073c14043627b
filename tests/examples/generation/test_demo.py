"""`make demo-generation` (python -m examples.generation.demo): a cohort end to end offline,
clear lines, a true exit code; run twice, the second run generates nothing."""

from __future__ import annotations

import re

import pytest

from examples.generation import demo
from tests.examples.generation.conftest import SMALL, Dirs, write_cohort


def test_the_demo_twice(gdb: str, dirs: Dirs, capsys: pytest.CaptureFixture[str]) -> None:
    write_cohort(dirs, "small", SMALL[:4])
    assert demo.main(["--cohort", "small"]) == 0
    first = capsys.readouterr().out
    assert "cost estimate of cohort 'small' through the real models:" in first
    assert re.search(r"total: 12 call\(s\), \$\d+\.\d{6} expected", first)
    assert "running flow generate-cohort for 'small' (offline completions) over 1 cohort" \
        in first
    for line in ("cohort: 1 ran", "draft: 4 ran", "essay: 4 ran", "evaluation: 4 ran",
                 "scores_by_template_model: 1 ran", "offline/offline-v1: 12 call(s)"):
        assert line in first
    assert "overall scores by template and model:" in first
    assert str(dirs.gens) in first
    assert demo.main(["--cohort", "small"]) == 0
    second = capsys.readouterr().out
    assert "estimate for draft: 0 key(s)" in second
    assert "nothing to do: every generation of cohort 'small' is up to date" in second
    assert "running flow" not in second
    # The talent project's migrations still run on this database (no foreign branch head).
    from talentflow.db import migrate

    before, after = migrate.upgrade()
    assert before == after


def test_a_failed_generation_makes_the_exit_code_1(gdb: str, dirs: Dirs,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # An evaluation template without criteria cannot make a prompt: those keys fail.
    (dirs.data / "templates" / "evaluation" / "blank.txt").write_text("Judge: {essay}")
    row = dict(SMALL[0], evaluation_template="blank")
    write_cohort(dirs, "broken", [row])
    assert demo.main(["--cohort", "broken"]) == 1
    out = capsys.readouterr().out
    assert "evaluation: 0 ran, 1 FAILED" in out
    assert "evaluation template 'blank' must start with a 'criteria: a, b, c' line" in out


def test_an_unknown_cohort_is_exit_code_2(gdb: str, dirs: Dirs,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main(["--cohort", "nope"]) == 2
    assert "no cohort 'nope'" in capsys.readouterr().err
