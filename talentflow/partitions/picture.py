"""The status picture of an asset's partitions, as SVG: one glance at what is materialized,
running, missing, failed, stale or held by a failed check.

    svg = status_picture(asset.partitions, status(conn, asset), title="sales_summary")

Layouts, by partition set:

- time windows: a calendar — hourly windows as days (columns) × hours (rows), daily as weeks
  × weekdays, weekly as years × weeks, monthly as years × months (the set's timezone);
- multi (product or registered): a grid of two chosen dimensions (`dims`), the other
  dimensions filtered (`filters`) or folded into the cell;
- dynamic and static: a dense grid in key order.

It stays readable at any size: when there are more keys than `max_cells`, a cell stands for
several keys and shows the worst state among them (failed, check failed, stale, missing,
running, materialized); the legend counts keys, not cells. Cells of one state are drawn as one
SVG path, so 100k keys make a picture of a few tens of kilobytes.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from html import escape

from talentflow.partitions.sets import (
    DynamicMultiPartitions,
    MultiPartitions,
    PartitionSet,
    TimeWindowPartitions,
)
from talentflow.partitions.status import KeyStatus, ReasonKind


class CellState(StrEnum):
    """What a cell shows; the order is the worst-first order used to fold keys into a cell."""

    FAILED = "failed"
    CHECK_FAILED = "check failed"
    STALE = "stale"
    MISSING = "missing"
    RUNNING = "running"
    MATERIALIZED = "materialized"


WORST_FIRST = list(CellState)
COLORS = {
    CellState.MATERIALIZED: "#2e7d32",
    CellState.RUNNING: "#1565c0",
    CellState.MISSING: "#d9d9d9",
    CellState.STALE: "#f9a825",
    CellState.CHECK_FAILED: "#8e24aa",
    CellState.FAILED: "#c62828",
}
MAX_CELLS = 4000
TOOLTIP_CELLS = 600  # per-cell <title> tooltips only below this many cells (size)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def cell_state(s: KeyStatus) -> CellState:
    if s.status == "failed" and ReasonKind.CHECK_FAILED in s.kinds:
        return CellState.CHECK_FAILED
    return CellState(s.status)


@dataclass
class Grid:
    """Cells at (column, row) with the states of the keys folded into them, and labels."""

    columns: int
    rows: int
    cells: dict[tuple[int, int], Counter]
    names: dict[tuple[int, int], list[str]]  # first / last key of each cell (tooltips)
    column_labels: dict[int, str]
    row_labels: dict[int, str]
    caption: str

    def add(self, col: int, row: int, key: str, state: CellState) -> None:
        self.cells.setdefault((col, row), Counter())[state] += 1
        names = self.names.setdefault((col, row), [key, key])
        names[1] = key


def _empty(columns: int, rows: int, caption: str) -> Grid:
    return Grid(columns, rows, {}, {}, {}, {}, caption)


# --------------------------------------------------------------------------------------------
# Layouts


def _dense(statuses: Sequence[KeyStatus], max_cells: int, what: str) -> Grid:
    n = len(statuses)
    per_cell = max(1, math.ceil(n / max_cells))
    cells = math.ceil(n / per_cell) if n else 0
    columns = max(1, min(cells, math.ceil(math.sqrt(cells * 3)))) if cells else 1
    rows = max(1, math.ceil(cells / columns)) if cells else 1
    grid = _empty(columns, rows, f"{n} {what} in key order"
                  + (f", {per_cell} keys per cell" if per_cell > 1 else ""))
    for i, s in enumerate(statuses):
        c = i // per_cell
        grid.add(c % columns, c // columns, s.key, cell_state(s))
    return grid


def _calendar(partitions: TimeWindowPartitions, statuses: Sequence[KeyStatus]) -> Grid:
    starts = [partitions.window(s.key)[0].astimezone(partitions.tz) for s in statuses]
    if not starts:
        return _empty(1, 1, "no windows yet")
    first = min(starts)
    span = partitions.window(statuses[0].key)
    length = span[1] - span[0]
    if length < timedelta(days=1):  # days × hours
        day0 = first.date()
        grid = _empty((max(starts).date() - day0).days + 1, 24,
                      f"{len(statuses)} windows: days × hours ({partitions.timezone})")
        grid.row_labels = {h: f"{h:02d}h" for h in range(0, 24, 6)}
        coords = [((t.date() - day0).days, t.hour) for t in starts]
        label = {c: (day0 + timedelta(days=c)).isoformat() for c in range(grid.columns)}
        grid.column_labels = {c: label[c] for c in range(0, grid.columns, max(
            1, grid.columns // 8))}
    elif length < timedelta(days=7):  # weeks × weekdays
        monday0 = first.date() - timedelta(days=first.weekday())
        coords = [((t.date() - monday0).days // 7, t.weekday()) for t in starts]
        columns = max(c for c, _ in coords) + 1
        grid = _empty(columns, 7, f"{len(statuses)} days: weeks × weekdays "
                                  f"({partitions.timezone})")
        grid.row_labels = {0: "Mon", 2: "Wed", 4: "Fri", 6: "Sun"}
        seen: set[tuple[int, int]] = set()
        for c in range(columns):
            day = monday0 + timedelta(days=7 * c)
            if (day.year, day.month) not in seen:
                seen.add((day.year, day.month))
                grid.column_labels[c] = _MONTHS[day.month - 1] + (
                    f" {day.year}" if day.month == 1 or c == 0 else "")
    elif length < timedelta(days=28):  # years × weeks
        year0 = first.year
        coords = [(t.isocalendar().week - 1, t.isocalendar().year - year0) for t in starts]
        rows = max(r for _, r in coords) + 1
        grid = _empty(53, rows, f"{len(statuses)} weeks: years × ISO weeks")
        grid.row_labels = {r: str(year0 + r) for r in range(rows)}
        grid.column_labels = {0: "W1", 13: "W14", 26: "W27", 39: "W40"}
    else:  # years × months
        year0 = first.year
        coords = [(t.month - 1, t.year - year0) for t in starts]
        rows = max(r for _, r in coords) + 1
        grid = _empty(12, rows, f"{len(statuses)} months: years × months")
        grid.row_labels = {r: str(year0 + r) for r in range(rows)}
        grid.column_labels = {m: _MONTHS[m] for m in range(0, 12, 3)}
    for (col, row), s in zip(coords, statuses, strict=True):
        grid.add(col, row, s.key, cell_state(s))
    return grid


def _multi(partitions: MultiPartitions | DynamicMultiPartitions,
           statuses: Sequence[KeyStatus], dims: Sequence[str] | None,
           filters: Mapping[str, str], max_cells: int) -> Grid:
    names = list(partitions.dimension_names)
    if len(names) == 1:
        return _dense(statuses, max_cells, "keys")
    x, y = (list(dims) if dims else names[:2])[:2]
    for d in (x, y, *filters):
        if d not in names:
            raise ValueError(f"{partitions.name!r} has no dimension {d!r} (dimensions: {names})")
    picked: list[tuple[dict[str, str], KeyStatus]] = []
    for s in statuses:
        values = partitions.values(s.key)
        if all(values[d] == v for d, v in filters.items()):
            picked.append((values, s))
    xs = sorted({v[x] for v, _ in picked})
    ys = sorted({v[y] for v, _ in picked})
    # Too many values on an axis: neighbouring values share a cell.
    side = max(1, int(math.sqrt(max_cells)))
    fx, fy = max(1, math.ceil(len(xs) / side)), max(1, math.ceil(len(ys) / side))
    xi = {v: i // fx for i, v in enumerate(xs)}
    yi = {v: i // fy for i, v in enumerate(ys)}
    folded = [d for d in names if d not in (x, y) and d not in filters]
    caption = f"{len(picked)} keys: {x} × {y}" + "".join(
        f", {d}={v!r}" for d, v in filters.items()) + (
        f" (each cell folds {', '.join(folded)})" if folded else "")
    grid = _empty(max(1, math.ceil(len(xs) / fx)), max(1, math.ceil(len(ys) / fy)), caption)
    grid.column_labels = {xi[v]: v for v in xs[::max(1, fx * max(1, len(xs) // (8 * fx)))]}
    grid.row_labels = {yi[v]: v for v in ys[::max(1, fy * max(1, len(ys) // (24 * fy)))]}
    for values, s in picked:
        grid.add(xi[values[x]], yi[values[y]], s.key, cell_state(s))
    return grid


def layout(partitions: PartitionSet, statuses: Sequence[KeyStatus], *,
           dims: Sequence[str] | None = None, filters: Mapping[str, str] | None = None,
           max_cells: int = MAX_CELLS) -> Grid:
    """The cells of the picture (see the module doc for the layouts)."""
    if isinstance(partitions, TimeWindowPartitions):
        grid = _calendar(partitions, statuses)
        if grid.columns * grid.rows <= max_cells * 4:
            return grid
        return _dense(statuses, max_cells, "windows")  # centuries of hours: key order
    if isinstance(partitions, MultiPartitions | DynamicMultiPartitions):
        return _multi(partitions, statuses, dims, dict(filters or {}), max_cells)
    return _dense(statuses, max_cells, "keys")


# --------------------------------------------------------------------------------------------
# Drawing


def _worst(counts: Counter) -> CellState:
    return next(s for s in WORST_FIRST if counts.get(s))


def status_picture(partitions: PartitionSet, statuses: Sequence[KeyStatus], *,
                   title: str = "", dims: Sequence[str] | None = None,
                   filters: Mapping[str, str] | None = None,
                   max_cells: int = MAX_CELLS) -> str:
    """The picture as an SVG document (see the module doc)."""
    grid = layout(partitions, statuses, dims=dims, filters=filters, max_cells=max_cells)
    cell = max(4, min(16, int(900 / max(grid.columns, 1)), int(480 / max(grid.rows, 1))))
    gap = 1 if cell >= 6 else 0
    left = 8 + 7 * max((len(v) for v in grid.row_labels.values()), default=0)
    top = 56
    totals = Counter(cell_state(s) for s in statuses)
    labels = [f"{state.value} {totals.get(state, 0):,}" for state in reversed(WORST_FIRST)]
    legend_width = 8 + sum(22 + 6 * len(label) for label in labels)
    width = max(420, legend_width, left + grid.columns * cell + 16)
    height = top + grid.rows * cell + 20 + 22
    paths: dict[CellState, list[str]] = {}
    tooltips: list[str] = []
    many = len(grid.cells) > TOOLTIP_CELLS
    for (c, r), counts in sorted(grid.cells.items()):
        state = _worst(counts)
        x, y = left + c * cell, top + r * cell
        paths.setdefault(state, []).append(f"M{x} {y}h{cell - gap}v{cell - gap}h-{cell - gap}z")
        if not many:
            first, last = grid.names[(c, r)]
            keys = first if first == last else f"{first} … {last}"
            detail = ", ".join(f"{s.value} {counts[s]}" for s in WORST_FIRST if counts.get(s))
            tooltips.append(f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" '
                            f'fill-opacity="0"><title>{escape(keys)}: {escape(detail)}'
                            "</title></rect>")
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
           f'<text x="8" y="16" font-size="13" font-weight="bold">'
           f'{escape(title or partitions.name)}</text>',
           f'<text x="8" y="31" fill="#555">{escape(grid.caption)}</text>']
    lx = 8
    for state, label in zip(reversed(WORST_FIRST), labels, strict=True):  # materialized first
        out.append(f'<rect x="{lx}" y="38" width="10" height="10" fill="{COLORS[state]}"/>'
                   f'<text x="{lx + 14}" y="47">{escape(label)}</text>')
        lx += 22 + 6 * len(label)
    for state, parts in paths.items():
        out.append(f'<path fill="{COLORS[state]}" d="{"".join(parts)}"/>')
    out.extend(tooltips)
    for r, label in grid.row_labels.items():
        out.append(f'<text x="{left - 4}" y="{top + r * cell + cell - 2}" text-anchor="end" '
                   f'fill="#555">{escape(label[:24])}</text>')
    free_from = 0  # labels never overlap: one that would is left out
    for c, label in sorted(grid.column_labels.items()):
        if left + c * cell < free_from:
            continue
        free_from = left + c * cell + 6 * len(label[:24]) + 6
        out.append(f'<text x="{left + c * cell}" y="{top + grid.rows * cell + 14}" '
                   f'fill="#555">{escape(label[:24])}</text>')
    if not grid.cells:
        out.append(f'<text x="{left}" y="{top + 12}" fill="#555">no partitions</text>')
    if len(grid.cells) < sum(totals.values()):
        out.append(f'<text x="8" y="{height - 6}" fill="#555">a cell of several keys shows '
                   "the worst state among them</text>")
    out.append("</svg>")
    return "".join(out)
