"""`python -m examples.daily_sales.demo`: the story holds on a fresh database (its steps say
what they expected; a broken one is listed), and its lines say what happened."""

from __future__ import annotations

import re

from examples.daily_sales import demo


def test_the_story_holds(db: str, capsys) -> None:
    story = demo.Story()
    demo.run_story(story, rows_per_day=150)  # the story, at a test's volume
    out = capsys.readouterr().out
    assert story.broken == [], out
    assert out.count("✓") == 9 and "✗" not in out
    assert re.search(r"^   sales_data: ran 63, cached 0, blocked 0, failed a blocking check 1$",
                     out, re.M)
    assert re.search(r"^   rows changed on 2024-01-10: sales_data ran 1, sales_summary ran 1, "
                     r"weekly_sales ran 1$", out, re.M)
    assert len(re.findall(r"^   2024-\d\d-\d\d +[\d,]+ lines", out, re.M)) == 9  # the weeks


def test_a_broken_expectation_is_listed_and_fails_the_story() -> None:
    story = demo.Story()
    story.expect(True, "held")
    demo._guard(story, lambda s: s.expect(False, "did not hold"))
    demo._guard(story, lambda s: 1 / 0)
    assert story.broken == ["did not hold", "ZeroDivisionError: division by zero"]
