"""The status picture: every key lands in one cell, cells show the worst state of their keys,
the legend counts keys, calendars put windows on their day and hour, and a picture of 100k
keys stays small. The SVG is parsed back (xml) rather than compared as text."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import date, timedelta

import pytest

from talentflow.partitions import (
    DynamicMultiPartitions,
    DynamicPartitions,
    StaticPartitions,
    TimeWindowPartitions,
)
from talentflow.partitions.picture import COLORS, MAX_CELLS, CellState, status_picture
from talentflow.partitions.status import KeyStatus, Reason, ReasonKind

SVG = "{http://www.w3.org/2000/svg}"
BY_COLOR = {c: s for s, c in COLORS.items()}


def cells(svg: str) -> dict[tuple[int, int], CellState]:
    """(x, y) of each drawn cell -> its state, from the per-state paths."""
    root = ET.fromstring(svg)
    out = {}
    for path in root.iter(f"{SVG}path"):
        for x, y in re.findall(r"M(\d+) (\d+)", path.get("d", "")):
            out[(int(x), int(y))] = BY_COLOR[path.get("fill")]
    return out


def legend(svg: str) -> dict[str, int]:
    texts = [t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text")]
    found = {}
    for state in CellState:
        for t in texts:
            m = re.fullmatch(re.escape(state.value) + r" ([\d,]+)", t)
            if m:
                found[state.value] = int(m.group(1).replace(",", ""))
    return found


def test_a_calendar_puts_each_day_on_its_weekday_and_week() -> None:
    days = TimeWindowPartitions.daily("pic_days", "2024-01-01", end="2024-03-01")
    keys = days.keys()
    states = {k: "materialized" for k in keys}
    states["2024-01-10"] = "failed"  # a Wednesday of the second week
    rows = [KeyStatus(k, states[k]) for k in keys]
    svg = status_picture(days, rows, title="daily")
    drawn = cells(svg)
    assert len(drawn) == len(keys) == 60
    xs = sorted({x for x, _ in drawn})
    ys = sorted({y for _, y in drawn})
    assert len(ys) == 7 and len(xs) == 9  # 2024-01-01 is a Monday: 9 weeks to Feb 29
    failed = [xy for xy, s in drawn.items() if s == CellState.FAILED]
    assert failed == [(xs[1], ys[2])]
    assert legend(svg) == {"materialized": 59, "failed": 1, "check failed": 0, "stale": 0,
                           "missing": 0, "running": 0}


def test_hourly_windows_are_days_by_hours_in_the_sets_timezone() -> None:
    hours = TimeWindowPartitions.hourly("pic_hours", "2026-03-28", end="2026-03-31",
                                        timezone="Europe/Paris")  # DST starts 03-29
    keys = hours.keys()
    rows = [KeyStatus(k, "missing" if "T05" in k or "-05:" in k else "materialized")
            for k in keys]
    drawn = cells(status_picture(hours, rows))
    assert len(drawn) == len(keys) == 3 * 24 - 1  # the skipped hour has no window
    ys = sorted({y for _, y in drawn})
    missing_rows = {y for (_, y), s in drawn.items() if s == CellState.MISSING}
    assert missing_rows == {ys[5]}  # 05:00 local on every day, DST or not


def test_a_cell_of_many_keys_shows_the_worst_and_the_legend_counts_keys() -> None:
    rows = [KeyStatus(f"k{i:06d}", "materialized") for i in range(100_000)]
    rows[123] = KeyStatus(rows[123].key, "stale")
    rows[77_777] = KeyStatus(rows[77_777].key, "failed", (
        Reason(ReasonKind.CHECK_FAILED, "check failed: positive"),))
    svg = status_picture(DynamicPartitions("pic_many"), rows)
    drawn = cells(svg)
    assert len(drawn) <= MAX_CELLS
    assert Counter(drawn.values())[CellState.STALE] == 1
    assert Counter(drawn.values())[CellState.CHECK_FAILED] == 1
    assert legend(svg)["materialized"] == 99_998 and legend(svg)["check failed"] == 1
    assert len(svg) < 200_000
    assert "worst state" in svg


def test_multi_keys_are_a_grid_of_two_dimensions_with_the_others_filtered() -> None:
    gens = DynamicMultiPartitions("pic_gens", ["combo", "template", "model"])
    rows = [KeyStatus(gens.key(f"c{c}", f"t{t}", m), "failed" if (c, t, m) == (2, 1, "b")
                      else "materialized")
            for c in range(5) for t in range(3) for m in ("a", "b")]
    folded = cells(status_picture(gens, rows, dims=("template", "combo")))
    assert len(folded) == 15  # 3 templates × 5 combos, models folded into each cell
    assert Counter(folded.values())[CellState.FAILED] == 1
    only_a = cells(status_picture(gens, rows, dims=("template", "combo"),
                                  filters={"model": "a"}))
    assert len(only_a) == 15 and set(only_a.values()) == {CellState.MATERIALIZED}
    with pytest.raises(ValueError, match="no dimension 'colour'"):
        status_picture(gens, rows, dims=("colour", "combo"))


def test_small_pictures_name_each_cell_and_empty_ones_say_so() -> None:
    regions = StaticPartitions("pic_regions", ["eu", "us"])
    svg = status_picture(regions, [KeyStatus("eu", "running"), KeyStatus("us", "missing")])
    titles = [t.text for t in ET.fromstring(svg).iter(f"{SVG}title")]
    assert titles == ["eu: running 1", "us: missing 1"]
    empty = status_picture(TimeWindowPartitions.daily(
        "pic_future", date.today() + timedelta(days=30)), [])
    assert "no partitions" in empty
