"""What a run shows on its Prefect flow run page: artifacts.

- `materialize-run`: per asset, what the run did (ran, cached, up to date, failed, blocked);
- `partition-status`: per asset, its partitions counted by status;
- `asset-checks`: per check, its outcomes and the first keys that failed;
- `partitions-<asset>`: the asset's partition view, refreshed by every run that touches it
  (single-key runs too): counts by status, the status picture, the keys that are not
  materialized with their typed reasons (the first 200), links to the REST API for the rest;
- `<asset>-partitions` (assets whose values describe themselves, e.g. DataFrames): per key
  materialized by the run, its row count and date range; and `<asset>-latest`, the newest
  key's column types and first rows.

Every publisher is best effort: a report must never fail a run that finished.
"""

from __future__ import annotations

import base64
import logging
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from talentflow.engine.definitions import Definitions
from talentflow.engine.run import RunReport
from talentflow.partitions.status import STATES, counts

log = logging.getLogger("talentflow.engine")

RUN_ARTIFACT_KEY = "materialize-run"
STATUS_ARTIFACT_KEY = "partition-status"
CHECKS_ARTIFACT_KEY = "asset-checks"
MAX_PARTITION_ROWS = 200  # keys listed per asset in a `<asset>-partitions` table
VIEW_KEYS = 200  # keys needing work listed in a `partitions-<asset>` view
API_URL_ENV = "TALENTFLOW_API_URL"
DEFAULT_API_URL = "http://127.0.0.1:8080"  # `talentflow api`'s default


def artifact_key(*parts: str) -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", "-".join(parts).lower())).strip("-")


def publish_run_artifacts(defs: Definitions, report: RunReport) -> None:
    """Every artifact of a materialize run (see the module doc)."""
    from prefect.artifacts import create_table_artifact

    from talentflow.db import connect

    try:
        create_table_artifact(
            key=RUN_ARTIFACT_KEY,
            table=[{"asset": r.asset, "ran": len(r.ran), "cached": len(r.cached),
                    "up to date": r.up_to_date, "failed": len(r.failed),
                    "blocked": len(r.blocked), "held by another run": len(r.held),
                    "failed a blocking check": len(r.check_failed),
                    "seconds": r.seconds} for r in report.assets.values()],
            description="What this materialize run did, per asset",
        )
        with connect() as conn:
            table = [{"asset": name, **counts(conn, defs.get(name))} for name in report.assets]
            described = _described_partitions(conn, report)
        create_table_artifact(key=STATUS_ARTIFACT_KEY, table=table,
                              description="Partitions per asset by status: "
                              + ", ".join(STATES))
        for asset, rows in described.items():
            _publish_partition_metadata(asset, rows)
    except Exception as exc:  # noqa: BLE001 - a report must never fail a finished run
        log.warning("could not publish the run artifacts: %s", exc)
    publish_check_artifact(defs, report)
    publish_partition_views(defs, [a for a, r in report.assets.items()
                                   if r.done or r.failed or r.blocked or r.check_failed])


def publish_partition_views(defs: Definitions, assets: Sequence[str]) -> None:
    """Refresh the `partitions-<asset>` view of each asset (see the module doc)."""
    from prefect.artifacts import create_markdown_artifact

    from talentflow.db import connect
    from talentflow.partitions.status import status

    try:
        with connect() as conn:
            views = {name: partition_view(defs.get(name), status(conn, defs.get(name)))
                     for name in assets}
        for name, markdown in views.items():
            create_markdown_artifact(key=artifact_key("partitions", name), markdown=markdown,
                                     description=f"{name}: partitions by status, now")
    except Exception as exc:  # noqa: BLE001 - a report must never fail a finished run
        log.warning("could not publish the partition views: %s", exc)


def api_url() -> str:
    return (os.environ.get(API_URL_ENV) or DEFAULT_API_URL).rstrip("/")


def partition_view(asset: Any, rows: Sequence[Any]) -> str:
    """The markdown of an asset's partition view: counts, the picture (an SVG data URI),
    the keys needing work with their reasons, and where to find the rest."""
    from talentflow.partitions.picture import CellState, cell_state, status_picture

    tally = {state: 0 for state in CellState}
    for r in rows:
        tally[cell_state(r)] += 1
    svg = status_picture(asset.partitions, rows, title=asset.name)
    picture = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    base = f"{api_url()}/assets/{quote(asset.name)}"
    lines = [f"## {asset.name}: {len(rows):,} partitions", "",
             "| " + " | ".join(s.value for s in CellState) + " |",
             "|" + "---|" * len(CellState),
             "| " + " | ".join(f"{tally[s]:,}" for s in CellState) + " |", "",
             f"![status picture of {asset.name}](data:image/svg+xml;base64,{picture})", ""]
    needing = [r for r in rows if r.status != "materialized"]
    if needing:
        lines += [f"### Not materialized ({len(needing):,})", "",
                  "| key | status | reason | reason kinds |", "|---|---|---|---|"]
        for r in needing[:VIEW_KEYS]:
            lines.append(f"| {_cell(r.key)} | {cell_state(r).value} | {_cell(r.describe())} | "
                         f"{', '.join(sorted(r.kinds))} |")
        if len(needing) > VIEW_KEYS:
            after = quote(needing[VIEW_KEYS - 1].key)
            lines += ["", f"… {len(needing) - VIEW_KEYS:,} more: [next page]({base}/status?"
                          f"after={after}&limit=1000) (the talentflow REST API)"]
        lines.append("")
    lines += [f"REST API: [status]({base}/status) · [failed]({base}/status?state=failed) · "
              f"[stale]({base}/status?state=stale) · [picture]({base}/status.svg)"]
    return "\n".join(lines)


def publish_check_artifact(defs: Definitions, report: RunReport) -> None:
    """What the run's checks found: per check, its outcomes and the first keys that failed."""
    from prefect.artifacts import create_table_artifact

    rows = []
    for r in report.assets.values():
        for name, tally in r.checks.items():
            bad = r.check_failing.get(name, [])
            rows.append({"check": name, "asset": r.asset,
                         "blocking": defs.get_check(name).blocking, **tally,
                         "failing keys": ", ".join(bad[:5])
                         + (f" … (+{len(bad) - 5})" if len(bad) > 5 else "")})
    if not rows:
        return
    try:
        create_table_artifact(key=CHECKS_ARTIFACT_KEY, table=rows,
                              description="Asset checks of this run: outcomes per check; a "
                              "failed blocking check keeps its key's downstream from running")
    except Exception as exc:  # noqa: BLE001 - a report must never fail a finished run
        log.warning("could not publish the check artifact: %s", exc)


# --------------------------------------------------------------------------------------------
# Per-partition metadata (row counts, date ranges, column types, a preview)


def _described_partitions(conn: Any, report: RunReport
                          ) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """asset -> (key, metadata) of the keys this run materialized whose metadata describes a
    table of rows (a `row_count`), in key order, at most MAX_PARTITION_ROWS + 1 per asset."""
    out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    if report.flow_run_id is None:
        return out
    for name, r in report.assets.items():
        if not r.done:
            continue
        rows = conn.execute(
            "SELECT partition_key, metadata FROM materializations WHERE asset = %s "
            "AND flow_run_id = %s AND status = 'materialized' AND metadata ? 'row_count' "
            "ORDER BY partition_key LIMIT %s",
            (name, report.flow_run_id, MAX_PARTITION_ROWS + 1)).fetchall()
        if rows:
            out[name] = [(k, m) for k, m in rows]
    return out


def _date_range(meta: Mapping[str, Any]) -> str:
    span = meta.get("date_range")
    if not span:
        return ""
    return f"{span.get('min')} … {span.get('max')} ({span.get('column')})"


def _publish_partition_metadata(asset: str, rows: Sequence[tuple[str, Mapping[str, Any]]]
                                ) -> None:
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    shown = rows[:MAX_PARTITION_ROWS]
    create_table_artifact(
        key=artifact_key(asset, "partitions"),
        table=[{"partition": k, "rows": m.get("row_count"), "date range": _date_range(m),
                "columns": len(m.get("columns") or {})} for k, m in shown],
        description=f"{asset}: the partitions this run materialized"
                    + (f" (first {MAX_PARTITION_ROWS})" if len(rows) > len(shown) else ""),
    )
    key, meta = rows[-1] if len(rows) <= MAX_PARTITION_ROWS else shown[-1]
    create_markdown_artifact(key=artifact_key(asset, "latest"), markdown=partition_markdown(
        asset, key, meta), description=f"{asset}[{key}]: columns and first rows")


def partition_markdown(asset: str, key: str, meta: Mapping[str, Any]) -> str:
    """One partition's metadata as markdown: counts, column types, preview rows."""
    lines = [f"### {asset} [{key}]", "",
             f"**{meta.get('row_count', '?')} rows**"
             + (f", {_date_range(meta)}" if meta.get("date_range") else ""), ""]
    columns = meta.get("columns") or {}
    if columns:
        lines += ["| column | type |", "|---|---|"]
        lines += [f"| {_cell(c)} | {_cell(t)} |" for c, t in columns.items()]
        lines.append("")
    preview = meta.get("preview") or []
    if preview:
        names = list(preview[0])
        lines += ["| " + " | ".join(_cell(n) for n in names) + " |",
                  "|" + "---|" * len(names)]
        lines += ["| " + " | ".join(_cell(row.get(n)) for n in names) + " |" for row in preview]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")[:80]
