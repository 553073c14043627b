"""Asset checks: per-partition assertions about an asset's output, recorded per (check, key).

    @asset_check(asset="sales_summary", blocking=True)
    def totals_reconcile(sales_summary: pd.DataFrame, sales_data: pd.DataFrame) -> bool:
        return sales_summary["total"].sum() == sales_data["amount"].sum()

    defs = Definitions(assets=[...], checks=[totals_reconcile])

A check runs right after its asset's partitions are computed, in the same flow run (one
Prefect task per batch, `check:<name>[<keys>]`). Its function takes, by parameter name:

- the checked asset's name (or `value`): the value just written for the key;
- the names of the asset's upstreams: the values the asset read for that key;
- `key`/`partition_key`, `ctx`/`context` (a KeyContext), and declared resources.

It returns `True`/`False`, or a `CheckResult` (severity, description, metadata); raising is
outcome `error`. Invariants:

1. A result belongs to the materialization it checked (`materialization_id`): when the key is
   materialized again, its old results no longer speak for it.
2. A blocking check that fails with severity ERROR, or errors, *blocks* that key: the key shows
   `failed` (`check failed: <name>`) and its downstream keys are blocked, not run, until a new
   materialization passes (or the check, re-run alone, passes). A stale key is stale first:
   new input is the way out of a failed check.
3. A non-blocking failure, or a WARN one, only warns: recorded, logged, listed.
"""

from __future__ import annotations

import inspect
import json
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import psycopg

from talentflow.partitions import versions
from talentflow.partitions.assets import CONTEXT_PARAMS, KEY_PARAMS, Asset

MAX_ERROR_CHARS = 2000


class CheckOutcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"  # the check itself raised: nothing is known about the data


class Severity(StrEnum):
    ERROR = "error"  # a failure of a blocking check blocks the key
    WARN = "warn"  # never blocks


@dataclass(frozen=True)
class CheckResult:
    """What a check function may return instead of a bool."""

    passed: bool
    severity: Severity = Severity.ERROR
    description: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Evaluation:
    """One (check, key) result as recorded."""

    check: str
    key: str
    outcome: CheckOutcome
    severity: Severity
    blocks: bool
    description: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def label(self) -> str:
        """How status and reports name a blocking result."""
        return f"check {'errored' if self.outcome == CheckOutcome.ERROR else 'failed'}: " \
               f"{self.check}"


class AssetCheck:
    """A named per-partition check of one asset (see the module doc)."""

    def __init__(self, name: str, asset: Asset | str, fn: Callable[..., Any], *,
                 blocking: bool = False, description: str = "") -> None:
        if not name or not isinstance(name, str):
            raise ValueError(f"a check needs a non-empty name, got {name!r}")
        self.name = name
        self.asset = asset
        self.fn = fn
        self.blocking = blocking
        self.description = description or (inspect.getdoc(fn) or "")
        self.params = tuple(inspect.signature(fn).parameters)

    @property
    def asset_name(self) -> str:
        return self.asset if isinstance(self.asset, str) else self.asset.name

    @property
    def code_version(self) -> str:
        return versions.code_version(self.fn, extra=f"check={self.name};asset={self.asset_name}")

    def validate_against(self, asset: Asset, resources: Sequence[str]) -> None:
        """Every parameter must be something the engine can fill: a clear error at
        declaration time, not a TypeError in the middle of a run."""
        known = {asset.name, "value", *CONTEXT_PARAMS, *KEY_PARAMS, *resources,
                 *(d.param_name for d in asset.deps)}
        unknown = [p for p in self.params if p not in known]
        if unknown:
            raise ValueError(
                f"check {self.name!r} takes {unknown}, which are neither the asset "
                f"{asset.name!r} (or 'value'), its upstreams "
                f"{[d.param_name for d in asset.deps]}, key, ctx, nor a resource")

    def __repr__(self) -> str:
        return f"<check {self.name!r} of {self.asset_name!r}{' blocking' if self.blocking else ''}>"


def asset_check(asset: Asset | str, *, name: str | None = None, blocking: bool = False,
                description: str = "") -> Callable[[Callable[..., Any]], AssetCheck]:
    """Decorator: the function checks one partition of `asset` (see the module doc)."""

    def wrap(fn: Callable[..., Any]) -> AssetCheck:
        return AssetCheck(name or fn.__name__, asset, fn, blocking=blocking,
                          description=description)

    return wrap


# --------------------------------------------------------------------------------------------
# Evaluating


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip()[:MAX_ERROR_CHARS]


def evaluate(check: AssetCheck, asset: Asset, keys: Sequence[str], values: Mapping[str, Any],
             upstream: Mapping[str, Mapping[str, Any]], resources: Mapping[str, Any],
             key_context: Callable[[str], Any] | None = None) -> dict[str, Evaluation]:
    """Run the check on each key (`values`: the asset's value per key; `upstream`: per
    upstream parameter, the value per key). One key's error is that key's."""
    out: dict[str, Evaluation] = {}
    for key in keys:
        kwargs: dict[str, Any] = {}
        for p in check.params:
            if p in (asset.name, "value"):
                kwargs[p] = values[key]
            elif p in KEY_PARAMS:
                kwargs[p] = key
            elif p in CONTEXT_PARAMS:
                kwargs[p] = key_context(key) if key_context else None
            elif p in upstream:
                kwargs[p] = upstream[p].get(key)
            elif p in resources:
                kwargs[p] = resources[p]
        try:
            got = check.fn(**kwargs)
        except Exception as exc:  # noqa: BLE001 - a check's crash is that key's result
            out[key] = Evaluation(check.name, key, CheckOutcome.ERROR, Severity.ERROR,
                                  check.blocking, error=_error_text(exc),
                                  metadata={"traceback": traceback.format_exc(limit=3)})
            continue
        out[key] = _as_evaluation(check, key, got)
    return out


def _as_evaluation(check: AssetCheck, key: str, got: Any) -> Evaluation:
    if isinstance(got, CheckResult):
        result = got
    elif isinstance(got, bool) or (hasattr(got, "item") and isinstance(got.item(), bool)):
        result = CheckResult(bool(got))  # numpy bools too: `(df.amount >= 0).all()`
    else:
        return Evaluation(check.name, key, CheckOutcome.ERROR, Severity.ERROR, check.blocking,
                          error=f"TypeError: check {check.name!r} returned "
                                f"{type(got).__name__}, expected bool or CheckResult")
    severity = Severity(result.severity)
    outcome = CheckOutcome.PASSED if result.passed else CheckOutcome.FAILED
    blocks = check.blocking and not result.passed and severity == Severity.ERROR
    return Evaluation(check.name, key, outcome, severity, blocks, result.description,
                      dict(result.metadata))


# --------------------------------------------------------------------------------------------
# Recording and reading (tables: engine migration e0003)


def record(conn: psycopg.Connection, check: AssetCheck, results: Mapping[str, Evaluation],
           materializations: Mapping[str, tuple[int, str]], flow_run_id: str | None) -> None:
    """Write results, each tied to the materialization (id, data version) it checked, and
    move each (check, key)'s latest pointer: one statement for the batch."""
    rows = [(k, e.outcome.value, e.severity.value, e.blocks, e.description or None,
             json.dumps(dict(e.metadata), default=str) if e.metadata else None, e.error,
             materializations[k][0], materializations[k][1])
            for k, e in results.items() if k in materializations]
    if not rows:
        return
    cols = list(zip(*rows, strict=True))
    conn.execute(
        """
        WITH r AS (
            SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::bool[], %s::text[],
                                 %s::jsonb[], %s::text[], %s::bigint[], %s::text[])
                AS r(key, outcome, severity, blocks, description, metadata, error, mid, dv)
        ), ins AS (
            INSERT INTO check_results (check_name, asset, partition_key, materialization_id,
                                       data_version, outcome, severity, blocking, blocks,
                                       description, metadata, error, code_version,
                                       flow_run_id)
            SELECT %s, %s, r.key, r.mid, r.dv, r.outcome, r.severity, %s, r.blocks,
                   r.description, coalesce(r.metadata, '{}'::jsonb), r.error, %s, %s
            FROM r
            RETURNING id, partition_key, materialization_id, outcome, blocks
        )
        INSERT INTO check_latest (check_name, partition_key, asset, result_id,
                                  materialization_id, outcome, blocks)
        SELECT %s, ins.partition_key, %s, ins.id, ins.materialization_id, ins.outcome,
               ins.blocks
        FROM ins
        ON CONFLICT (check_name, partition_key) DO UPDATE SET
            asset = EXCLUDED.asset, result_id = EXCLUDED.result_id,
            materialization_id = EXCLUDED.materialization_id,
            outcome = EXCLUDED.outcome, blocks = EXCLUDED.blocks, checked_at = now()
        """,
        (*[list(c) for c in cols], check.name, check.asset_name, check.blocking,
         check.code_version, flow_run_id, check.name, check.asset_name),
    )


def current_materializations(conn: psycopg.Connection, asset: str, keys: Sequence[str]
                             ) -> dict[str, tuple[int, str]]:
    """key -> (materialization id, data version) of each key's current data."""
    if not keys:
        return {}
    rows = conn.execute(
        "SELECT partition_key, success_id, data_version FROM partition_latest "
        "WHERE asset = %s AND partition_key = ANY(%s::text[]) AND success_id IS NOT NULL",
        (asset, list(keys))).fetchall()
    return {k: (int(m), v) for k, m, v in rows}


def blocking_failures(conn: psycopg.Connection, asset: str, checks: Sequence[str],
                      keys: Sequence[str] | None) -> dict[str, list[str]]:
    """key -> the named blocking checks failing on the key's current data (keys None: every
    key of the asset). Results of an older materialization do not count."""
    if not checks:
        return {}
    rows = conn.execute(
        """
        SELECT c.partition_key, array_agg(c.check_name ORDER BY c.check_name)
        FROM check_latest c
        JOIN partition_latest l ON l.asset = c.asset AND l.partition_key = c.partition_key
                               AND l.success_id = c.materialization_id
        WHERE c.asset = %s AND c.blocks AND c.check_name = ANY(%s::text[])
          AND (%s::text[] IS NULL OR c.partition_key = ANY(%s::text[]))
        GROUP BY c.partition_key
        """,
        (asset, list(checks), None if keys is None else list(keys),
         None if keys is None else list(keys))).fetchall()
    return {k: list(names) for k, names in rows}


@dataclass(frozen=True)
class LatestResult:
    check: str
    asset: str
    key: str
    outcome: CheckOutcome
    severity: Severity
    blocking: bool
    current: bool  # it checked the key's current data (not an older materialization)
    description: str | None
    error: str | None
    metadata: dict[str, Any]
    checked_at: Any
    flow_run_id: str | None


def latest_results(conn: psycopg.Connection, checks: Sequence[str], *,
                   keys: Sequence[str] | None = None,
                   outcomes: Sequence[CheckOutcome] | None = None,
                   limit: int | None = None) -> list[LatestResult]:
    """The latest result of each (check, key), newest check first within key order."""
    rows = conn.execute(
        """
        SELECT r.check_name, r.asset, r.partition_key, r.outcome, r.severity, r.blocking,
               l.success_id IS NOT DISTINCT FROM r.materialization_id, r.description,
               r.error, r.metadata, r.checked_at, r.flow_run_id
        FROM check_latest c
        JOIN check_results r ON r.id = c.result_id
        LEFT JOIN partition_latest l ON l.asset = c.asset AND l.partition_key = c.partition_key
        WHERE c.check_name = ANY(%s::text[])
          AND (%s::text[] IS NULL OR c.partition_key = ANY(%s::text[]))
          AND (%s::text[] IS NULL OR c.outcome = ANY(%s::text[]))
        ORDER BY c.check_name, c.partition_key
        LIMIT %s
        """,
        (list(checks), None if keys is None else list(keys),
         None if keys is None else list(keys),
         None if outcomes is None else [o.value for o in outcomes],
         None if outcomes is None else [o.value for o in outcomes], limit)).fetchall()
    return [LatestResult(r[0], r[1], r[2], CheckOutcome(r[3]), Severity(r[4]), r[5], r[6],
                         r[7], r[8], r[9] or {}, r[10], r[11]) for r in rows]


def summary(conn: psycopg.Connection, checks: Sequence[str]) -> dict[str, dict[str, int]]:
    """check -> {passed, failed, error} over the latest results."""
    out = {c: {o.value: 0 for o in CheckOutcome} for c in checks}
    for name, outcome, n in conn.execute(
            "SELECT check_name, outcome, count(*) FROM check_latest "
            "WHERE check_name = ANY(%s::text[]) GROUP BY 1, 2", (list(checks),)).fetchall():
        out[name][outcome] = int(n)
    return out
