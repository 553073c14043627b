"""Materialization records: one row per run of an asset for a key, plus its latest state.

Single-key form (a Prefect task for one partition):

    mid = start(conn, asset, key, code_version, inputs, flow_run_id=..., task_run_id=...)
    ... compute ...
    succeed(conn, mid, data_version(result), {"rows": 12})      # or fail(conn, mid, str(exc))

Bulk form (a batch task, a backfill, a sensor observing rows): `record_many` and `observe`
write any number of finished records with one COPY and set-based statements.

`inputs` maps (upstream asset, upstream key) to the data version consumed; the key `ALL`
(see assets.py) stands for the whole upstream asset and carries its watermark.
`current_inputs` computes that mapping from the declared deps, in one query per batch.

Every write keeps `partition_latest` current through one upsert (below), so the latest state
of a key is one primary-key lookup and the status of 100k keys one join. Retention keeps the
newest N materializations per key (`TALENTFLOW_HISTORY_KEEP`, default 20), never the one
the current data came from (its inputs are what staleness compares).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from talentflow.partitions import registry
from talentflow.partitions.assets import ALL, AllKeys, AllOf, Asset, Identity
from talentflow.partitions.errors import check_storable

DEFAULT_KEEP = 20
STATUSES = ("running", "materialized", "failed")
# The data version recorded for an upstream key that did not exist when it was read: if it
# appears later the consumer is stale; while it stays missing, nothing changed.
MISSING = ""

Inputs = Mapping[tuple[str, "str | AllKeys"], str]


def history_keep() -> int:
    """How many materializations to keep per (asset, key)."""
    raw = os.environ.get("TALENTFLOW_HISTORY_KEEP")
    keep = int(raw) if raw else DEFAULT_KEEP
    if keep < 1:
        raise ValueError(f"TALENTFLOW_HISTORY_KEEP must be ≥ 1, got {keep}")
    return keep


@dataclass(frozen=True)
class Record:
    """One finished (or failed) materialization for the bulk writers."""

    key: str
    data_version: str | None = None
    code_version: str | None = None  # None: the asset's code version
    # What the computation READ: required for an asset with upstream deps (None is refused),
    # else the key could never go stale.
    inputs: Inputs | None = None
    status: str = "materialized"
    metadata: Mapping[str, Any] | None = None
    error: str | None = None
    flow_run_id: str | None = None
    task_run_id: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True)
class Latest:
    """The latest state of one (asset, key)."""

    asset: str
    key: str
    materialization_id: int  # the latest attempt
    status: str  # of the latest attempt
    success_id: int | None  # the materialization the current data came from
    code_version: str | None  # ... its code version
    data_version: str | None  # ... its data version
    changed_seq: int | None  # the asset's change number of the write that changed the data
    updated_at: datetime


@dataclass(frozen=True)
class Materialization:
    id: int
    asset: str
    key: str
    status: str
    code_version: str
    data_version: str | None
    flow_run_id: str | None
    task_run_id: str | None
    started_at: datetime
    finished_at: datetime | None
    metadata: dict[str, Any]
    error: str | None
    orphaned: bool
    inputs: dict[tuple[str, str | AllKeys], str]


# The one place partition_latest changes. `src` has one row per (asset, key) with the
# columns below, plus `seq`: the asset's commit-ordered change sequence (`_next_seq`). A row
# only moves the latest attempt if it is newer, and only moves the data (success_id,
# versions, changed_seq) if it is a newer success. changed_seq moves only when the data
# version really differs: re-running unchanged work changes nothing downstream.
_UPSERT_LATEST = """
INSERT INTO partition_latest AS l (asset, partition_key, materialization_id, status, success_id,
                                   code_version, data_version, changed_seq, history_count)
SELECT asset, partition_key, id, status,
       CASE WHEN status = 'materialized' THEN id END,
       CASE WHEN status = 'materialized' THEN code_version END,
       CASE WHEN status = 'materialized' THEN data_version END,
       CASE WHEN status = 'materialized' THEN seq END,
       1
FROM src
ON CONFLICT (asset, partition_key) DO UPDATE SET
    status = CASE WHEN EXCLUDED.materialization_id >= l.materialization_id
                  THEN EXCLUDED.status ELSE l.status END,
    materialization_id = greatest(l.materialization_id, EXCLUDED.materialization_id),
    success_id = CASE WHEN EXCLUDED.success_id > coalesce(l.success_id, 0)
                      THEN EXCLUDED.success_id ELSE l.success_id END,
    code_version = CASE WHEN EXCLUDED.success_id > coalesce(l.success_id, 0)
                        THEN EXCLUDED.code_version ELSE l.code_version END,
    data_version = CASE WHEN EXCLUDED.success_id > coalesce(l.success_id, 0)
                        THEN EXCLUDED.data_version ELSE l.data_version END,
    changed_seq = CASE WHEN EXCLUDED.success_id > coalesce(l.success_id, 0)
                        AND EXCLUDED.data_version IS DISTINCT FROM l.data_version
                       THEN EXCLUDED.changed_seq ELSE l.changed_seq END,
    history_count = l.history_count
        + CASE WHEN EXCLUDED.materialization_id > l.materialization_id THEN 1 ELSE 0 END,
    updated_at = now()
RETURNING asset, partition_key, history_count
"""

# Oldest materializations beyond `keep` for the given keys, never the latest attempt nor the
# current data's materialization. Only keys whose history_count exceeds keep are visited.
_PRUNE = """
WITH doomed AS (
    SELECT m.id, l.asset, l.partition_key
    FROM partition_latest l
    CROSS JOIN LATERAL (
        SELECT id FROM materializations m
        WHERE m.asset = l.asset AND m.partition_key = l.partition_key
        ORDER BY id DESC OFFSET %(keep)s
    ) m
    WHERE l.asset = %(asset)s AND l.partition_key = ANY(%(keys)s::text[])
      AND l.history_count > %(keep)s
      AND m.id <> l.materialization_id AND m.id IS DISTINCT FROM l.success_id
),
gone AS (DELETE FROM materializations WHERE id IN (SELECT id FROM doomed) RETURNING id),
gone_inputs AS (
    DELETE FROM materialization_inputs WHERE materialization_id IN (SELECT id FROM doomed)
)
UPDATE partition_latest l SET history_count = l.history_count - d.n
FROM (SELECT asset, partition_key, count(*) AS n FROM doomed GROUP BY 1, 2) d
WHERE l.asset = d.asset AND l.partition_key = d.partition_key
"""


def _asset_name(asset: Asset | str) -> str:
    return asset.name if isinstance(asset, Asset) else asset


def declare(conn: psycopg.Connection, asset: Asset) -> None:
    """Record the asset's partition set(s) in the database (see registry.delete_keys)."""
    dims = getattr(asset.partitions, "dimensions", None)
    registry.register_asset(
        conn, asset.name, asset.partitions.name,
        [s.name for s in dims.values()] if dims is not None else None,
    )


def _next_seq(cur: psycopg.Cursor, asset: Asset | str) -> int:
    """Bump the asset's change sequence and hold its row lock until this transaction ends.

    Why a locked counter and not the materialization id: an id is taken when a row is
    written, not when it commits. Writer A (id 10) committing after writer B (id 11) would let
    a consumer read watermark 11, record it, and never notice A's change. With the lock,
    writers of one asset take numbers in commit order: B waits for A's commit, so a
    watermark W covers every committed change numbered ≤ W.
    """
    if isinstance(asset, Asset):
        dims = getattr(asset.partitions, "dimensions", None)
        name, set_name = asset.name, asset.partitions.name
        dim_sets = [s.name for s in dims.values()] if dims is not None else None
    else:
        name, set_name, dim_sets = asset, "", None
    row = cur.execute(
        """
        INSERT INTO partition_assets AS a (asset, set_name, dimension_sets, change_seq)
        VALUES (%s, %s, %s, 1)
        ON CONFLICT (asset) DO UPDATE SET
            change_seq = a.change_seq + 1,
            set_name = CASE WHEN EXCLUDED.set_name = '' THEN a.set_name
                            ELSE EXCLUDED.set_name END,
            dimension_sets = CASE WHEN EXCLUDED.set_name = '' THEN a.dimension_sets
                                  ELSE EXCLUDED.dimension_sets END
        RETURNING change_seq
        """,
        (name, set_name, dim_sets),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _always_read(asset: Asset | str) -> list[str] | None:
    """The upstreams every key of `asset` reads (Identity / AllOf): what each success must
    name in its inputs. None when nothing is required (an asset name, no deps)."""
    if not isinstance(asset, Asset) or not asset.deps:
        return None
    return [d.name for d in asset.deps if isinstance(d.mapping, (Identity, AllOf))]


def _check_inputs(asset: Asset | str, record: Record,
                  always: list[str] | None | bool = True) -> None:
    """Refuse a success recorded without what it read (it could never go stale).
    `always`: _always_read(asset), when the caller checks many records of one asset."""
    if always is True:
        always = _always_read(asset)
    if always is None or record.status != "materialized":
        return
    assert isinstance(asset, Asset)
    if record.inputs is None:
        raise TypeError(
            f"{asset.name}[{record.key!r}]: asset has upstream deps "
            f"{[d.name for d in asset.deps]}; record it with inputs= (the upstream versions "
            "the computation read), or it can never go stale"
        )
    if not always:
        return
    read = {up for up, _ in record.inputs}
    missing = [name for name in always if name not in read]
    if missing:
        raise ValueError(
            f"{asset.name}[{record.key!r}]: inputs= lacks upstream {missing}, which every key "
            "reads (Identity / AllOf)"
        )


def _input_rows(inputs: Inputs) -> list[tuple[str, str, bool, str]]:
    rows = []
    for (up_asset, up_key), version in inputs.items():
        if isinstance(up_key, AllKeys):
            rows.append((up_asset, "*", True, str(version)))
        else:
            rows.append((up_asset, up_key, False, MISSING if version is None else str(version)))
    return rows


def _prune(cur: psycopg.Cursor, asset: str, keys: list[str], keep: int) -> None:
    if keys:
        cur.execute(_PRUNE, {"asset": asset, "keys": keys, "keep": keep})


# --------------------------------------------------------------------------------------------
# Inputs and watermarks


def watermarks(conn: psycopg.Connection, assets: Sequence[str]) -> dict[str, int]:
    """For each asset: the newest change to any of its keys (data changed or key removed)."""
    if not assets:
        return {}
    rows = conn.execute(
        """
        SELECT u.asset,
               greatest(
                 coalesce((SELECT max(p.changed_seq) FROM partition_latest p
                           WHERE p.asset = u.asset), 0),
                 coalesce((SELECT a.removed_seq FROM partition_assets a
                           WHERE a.asset = u.asset), 0))
        FROM unnest(%s::text[]) AS u(asset)
        """,
        (list(assets),),
    ).fetchall()
    return {r[0]: int(r[1]) for r in rows}


def changed_between(conn: psycopg.Connection, asset: str, since: int, until: int
                    ) -> tuple[list[str], bool]:
    """Keys of `asset` whose data changed after watermark `since` up to `until`, and whether
    keys were removed in that interval (an index range on (asset, changed_seq))."""
    keys = [r[0] for r in conn.execute(
        "SELECT partition_key FROM partition_latest WHERE asset = %s "
        "AND changed_seq > %s AND changed_seq <= %s ORDER BY partition_key",
        (asset, since, until),
    ).fetchall()]
    row = conn.execute(
        "SELECT removed_seq > %s FROM partition_assets WHERE asset = %s", (since, asset)
    ).fetchone()
    return keys, bool(row and row[0])


def consumed_watermarks(conn: psycopg.Connection, asset: str, keys: Sequence[str],
                        upstream: str) -> dict[str, int]:
    """For keys of `asset` with current data: the watermark of `upstream` (an AllOf input)
    that data consumed."""
    rows = conn.execute(
        """
        SELECT l.partition_key, i.data_version FROM partition_latest l
        JOIN materialization_inputs i ON i.materialization_id = l.success_id
        WHERE l.asset = %s AND l.partition_key = ANY(%b) AND i.all_keys
          AND i.upstream_asset = %s
        """,
        (asset, list(keys), upstream),
    ).fetchall()
    return {k: int(v) for k, v in rows}


def current_inputs(
    conn: psycopg.Connection, asset: Asset, keys: Sequence[str]
) -> dict[str, dict[tuple[str, str | AllKeys], str]]:
    """What each key would consume now: {key: {(upstream, upstream_key | ALL): version}}.

    Also what a Prefect cache key is built from (`cache.py`). One query for all keys.
    """
    keys = list(keys)
    # Per dependency, not per key: resolve the upstream set once and take the two common
    # mappings without calling them 100k times.
    per_dep: list[tuple[str, list[list[str]] | None]] = []
    wanted: dict[str, set[str]] = {}
    for dep in asset.deps:
        if isinstance(dep.mapping, AllOf):
            per_dep.append((dep.name, None))
            continue
        if isinstance(dep.mapping, Identity):
            mapped: list[Any] = [[k] for k in keys]
            wanted.setdefault(dep.name, set()).update(keys)
        else:
            up_set = dep.upstream_set()
            mapped = [dep.mapping.upstream_keys(k, asset.partitions, up_set) for k in keys]
            bucket = wanted.setdefault(dep.name, set())
            for ukeys in mapped:
                if not isinstance(ukeys, AllKeys):
                    bucket.update(ukeys)
        per_dep.append((dep.name, mapped))
    versions = {name: _data_versions(conn, name, ukeys) for name, ukeys in wanted.items()}
    whole = {name for name, mapped in per_dep if mapped is None}
    whole |= {name for name, mapped in per_dep if mapped is not None
              and any(isinstance(m, AllKeys) for m in mapped)}  # a Custom mapping said ALL
    marks = watermarks(conn, sorted(whole))
    out: dict[str, dict[tuple[str, str | AllKeys], str]] = {k: {} for k in keys}
    for name, mapped in per_dep:
        if mapped is None:
            mark = str(marks[name])
            for k in keys:
                out[k][(name, ALL)] = mark
            continue
        found = versions[name]
        for k, ukeys in zip(keys, mapped, strict=True):
            inputs = out[k]
            if isinstance(ukeys, AllKeys):
                inputs[(name, ALL)] = str(marks[name])
            else:
                for uk in ukeys:
                    inputs[(name, uk)] = found.get(uk, MISSING)
    return out


def _data_versions(conn: psycopg.Connection, asset: str, keys: set[str]) -> dict[str, str]:
    """Current data versions of some keys of an asset."""
    if len(keys) >= 5000:
        # Reading the asset's whole latest state in index order beats probing 5k+ keys.
        rows = conn.execute(
            "SELECT partition_key, data_version FROM partition_latest "
            "WHERE asset = %s AND data_version IS NOT NULL",
            (asset,),
        )
        return {k: v for k, v in rows if k in keys}
    rows = conn.execute(
        # %b: the key array travels in binary, no quoting or escaping of every key.
        "SELECT partition_key, data_version FROM partition_latest "
        "WHERE asset = %s AND partition_key = ANY(%b) AND data_version IS NOT NULL",
        (asset, list(keys)),
    )
    return dict(rows.fetchall())


# --------------------------------------------------------------------------------------------
# One key at a time


def start(
    conn: psycopg.Connection,
    asset: Asset | str,
    key: str,
    code_version: str | None = None,
    inputs: Inputs | None = None,
    flow_run_id: str | None = None,
    task_run_id: str | None = None,
) -> int:
    """Record that a run of `asset` for `key` started; returns the materialization id.

    With an Asset, `code_version` defaults to the asset's and `inputs` to `current_inputs`.
    """
    name = _asset_name(asset)
    if isinstance(asset, Asset):
        asset.partitions.validate(key)
        code_version = code_version or asset.code_version
        if inputs is None:
            inputs = current_inputs(conn, asset, [key])[key]
    else:
        check_storable(name, key)
    if code_version is None:
        raise TypeError("start() needs a code_version (or an Asset to take it from)")
    rows = _input_rows(inputs or {})
    with conn.transaction(), conn.cursor() as cur:
        if isinstance(asset, Asset):
            declare(conn, asset)
        cur.execute(
            f"""
            WITH m AS (
                INSERT INTO materializations (asset, partition_key, status, code_version,
                                              flow_run_id, task_run_id)
                VALUES (%(asset)s, %(key)s, 'running', %(code)s, %(flow)s, %(task)s)
                RETURNING id, asset, partition_key, status, code_version, data_version
            ),
            i AS (
                INSERT INTO materialization_inputs
                    (materialization_id, upstream_asset, upstream_key, all_keys, data_version)
                SELECT m.id, u.a, u.k, u.w, u.v FROM m,
                       unnest(%(ua)s::text[], %(uk)s::text[], %(uw)s::bool[], %(uv)s::text[])
                       AS u(a, k, w, v)
            ),
            src AS (SELECT *, NULL::bigint AS seq FROM m),
            l AS ({_UPSERT_LATEST})
            SELECT id FROM m
            """,
            {
                "asset": name, "key": key, "code": code_version, "flow": flow_run_id,
                "task": task_run_id,
                "ua": [r[0] for r in rows], "uk": [r[1] for r in rows],
                "uw": [r[2] for r in rows], "uv": [r[3] for r in rows],
            },
        )
        row = cur.fetchone()
        assert row is not None
        return int(row[0])


def _finish(conn: psycopg.Connection, mid: int, status: str, data_version: str | None,
            metadata: Mapping[str, Any] | None, error: str | None, keep: int | None) -> None:
    with conn.transaction(), conn.cursor() as cur:
        seq = None
        if status == "materialized":
            owner = cur.execute("SELECT asset FROM materializations WHERE id = %s",
                                (mid,)).fetchone()
            if owner is not None:
                seq = _next_seq(cur, owner[0])
        cur.execute(
            f"""
            WITH m AS (
                UPDATE materializations
                SET status = %(status)s, data_version = %(dv)s, error = %(error)s,
                    metadata = metadata || %(meta)s::jsonb, finished_at = now()
                WHERE id = %(mid)s AND status = 'running'
                RETURNING id, asset, partition_key, status, code_version, data_version
            ),
            src AS (SELECT *, %(seq)s::bigint AS seq FROM m)
            {_UPSERT_LATEST}
            """,
            {"status": status, "dv": data_version, "error": error, "mid": mid, "seq": seq,
             "meta": json.dumps(dict(metadata or {}), default=str)},
        )
        row = cur.fetchone()
        if row is None:
            found = conn.execute(
                "SELECT status FROM materializations WHERE id = %s", (mid,)
            ).fetchone()
            state = "does not exist" if found is None else f"is {found[0]}, not running"
            raise ValueError(f"materialization {mid} {state}")
        asset, key, history = row
        keep = keep or history_keep()
        if history > keep:
            _prune(cur, asset, [key], keep)


def succeed(conn: psycopg.Connection, mid: int, data_version: str,
            metadata: Mapping[str, Any] | None = None, *, keep: int | None = None) -> None:
    """Mark a running materialization materialized with the data version it produced."""
    if not isinstance(data_version, str):
        raise TypeError("data_version is a str (see versions.data_version)")
    _finish(conn, mid, "materialized", data_version, metadata, None, keep)


def fail(conn: psycopg.Connection, mid: int, error: str,
         metadata: Mapping[str, Any] | None = None, *, keep: int | None = None) -> None:
    """Mark a running materialization failed; the key's previous data stays current."""
    _finish(conn, mid, "failed", None, metadata, str(error), keep)


# --------------------------------------------------------------------------------------------
# Bulk


def _as_record(row: Record | Sequence[Any]) -> Record:
    if isinstance(row, Record):
        return row
    # (key, data_version[, inputs[, metadata]])
    return Record(row[0], row[1], None, row[2] if len(row) > 2 else None,
                  metadata=row[3] if len(row) > 3 else None)


def _ts(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def record_many(
    conn: psycopg.Connection,
    asset: Asset | str,
    rows: Iterable[Record | Sequence[Any]],
    *,
    code_version: str | None = None,
    keep: int | None = None,
    only_changed: bool = False,
) -> list[str]:
    """Record finished materializations in bulk; returns the keys recorded.

    `rows` are `Record`s or tuples `(key, data_version[, inputs[, metadata]])`; one row per
    key. With `only_changed`, rows whose data version equals the key's current one are
    skipped (that is `observe`). One COPY for the rows, one for their inputs, one statement
    for history + inputs + latest state, one for retention.
    """
    name = _asset_name(asset)
    default_code = code_version or (asset.code_version if isinstance(asset, Asset) else None)
    records = [_as_record(r) for r in rows]
    if not records:
        return []
    mat_rows: list[tuple[Any, ...]] = []
    input_rows: list[tuple[Any, ...]] = []
    seen: set[str] = set()
    always = _always_read(asset)
    for r in records:
        check_storable(name, r.key)
        if r.key in seen:
            raise ValueError(f"record_many: key {r.key!r} appears twice in one batch")
        seen.add(r.key)
        if r.status not in STATUSES or r.status == "running":
            raise ValueError(f"record_many records finished runs, not status {r.status!r}")
        code = r.code_version or default_code
        if code is None:
            raise TypeError("record_many needs a code_version (or an Asset to take it from)")
        if r.status == "materialized" and r.data_version is None:
            raise ValueError(f"key {r.key!r}: a materialized record needs a data_version")
        _check_inputs(asset, r, always)
        mat_rows.append((
            r.key, r.status, code, r.data_version, r.flow_run_id, r.task_run_id,
            r.started_at, r.finished_at,
            json.dumps(dict(r.metadata), default=str) if r.metadata else None, r.error,
        ))
        if r.inputs:
            input_rows.extend((r.key, *row) for row in _input_rows(r.inputs))
    keep = keep or history_keep()
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            """
            CREATE TEMP TABLE IF NOT EXISTS tf_mat_batch (
                key text COLLATE "C", status text, code_version text, data_version text,
                flow_run_id text, task_run_id text, started_at timestamptz,
                finished_at timestamptz, metadata jsonb, error text
            ) ON COMMIT DELETE ROWS
            """
        )
        cur.execute(
            """
            CREATE TEMP TABLE IF NOT EXISTS tf_input_batch (
                key text COLLATE "C", upstream_asset text, upstream_key text, all_keys bool,
                data_version text
            ) ON COMMIT DELETE ROWS
            """
        )
        cur.execute("TRUNCATE tf_mat_batch, tf_input_batch")
        # write_row formats in C (psycopg's binary build): ~2x faster than joining text here.
        with cur.copy("COPY tf_mat_batch FROM STDIN") as copy:
            for row in mat_rows:
                copy.write_row(row)
        if input_rows:
            with cur.copy("COPY tf_input_batch FROM STDIN") as copy:
                for row in input_rows:
                    copy.write_row(row)
        if len(mat_rows) >= 1000:
            # Temp tables have no statistics: without them a large batch may be joined to its
            # inputs row by row.
            cur.execute("ANALYZE tf_mat_batch, tf_input_batch")
        if only_changed:
            cur.execute(
                """
                DELETE FROM tf_mat_batch b USING partition_latest l
                WHERE l.asset = %s AND l.partition_key = b.key
                  AND l.data_version IS NOT DISTINCT FROM b.data_version
                  AND b.status = 'materialized'
                """,
                (name,),
            )
            if cur.rowcount == len(mat_rows):
                return []  # nothing changed: take no sequence number, hold no lock
        # Last, right before the write: the lock on the asset's counter is held to commit.
        seq = _next_seq(cur, asset)
        cur.execute(
            f"""
            WITH m AS (
                INSERT INTO materializations (asset, partition_key, status, code_version,
                    data_version, flow_run_id, task_run_id, started_at, finished_at,
                    metadata, error)
                SELECT %(asset)s, key, status, code_version, data_version, flow_run_id,
                       task_run_id, coalesce(started_at, now()),
                       coalesce(finished_at, now()), coalesce(metadata, '{{}}'::jsonb), error
                FROM tf_mat_batch
                RETURNING id, asset, partition_key, status, code_version, data_version
            ),
            i AS (
                INSERT INTO materialization_inputs
                    (materialization_id, upstream_asset, upstream_key, all_keys, data_version)
                SELECT m.id, b.upstream_asset, b.upstream_key, b.all_keys, b.data_version
                FROM m JOIN tf_input_batch b ON b.key = m.partition_key
            ),
            src AS (SELECT *, %(seq)s::bigint AS seq FROM m),
            l AS ({_UPSERT_LATEST})
            SELECT partition_key, history_count FROM l
            """,
            {"asset": name, "seq": seq},
        )
        result = cur.fetchall()
        _prune(cur, name, [k for k, h in result if h > keep], keep)
        cur.execute("TRUNCATE tf_mat_batch, tf_input_batch")
        return [k for k, _ in result]


def observe(
    conn: psycopg.Connection,
    asset: Asset | str,
    items: Iterable[tuple[str, str]],
    *,
    keep: int | None = None,
) -> list[str]:
    """Record observations of a source asset: (key, data version) pairs, e.g. row hashes.

    Only keys whose data version differs from the current one (or is new) are recorded;
    returns those keys — the ones whose downstream is now stale.
    """
    code = asset.code_version if isinstance(asset, Asset) else "observed"
    items = list(items)
    if not items:
        return []
    # Compare in one read of the asset's current versions: observing 100k unchanged rows
    # writes nothing (no COPY, no lock on the asset's change counter).
    name = _asset_name(asset)
    current = dict(conn.execute(
        "SELECT partition_key, data_version FROM partition_latest WHERE asset = %s "
        "AND status = 'materialized'", (name,)).fetchall()) if len(items) > 1000 else \
        _current(conn, name, [k for k, _ in items])
    changed = [(k, v) for k, v in items if current.get(k) != v]
    if not changed:
        return []
    return record_many(
        conn, asset, (Record(k, v, code, inputs={}) for k, v in changed), keep=keep,
        only_changed=True,
    )


def _current(conn: psycopg.Connection, asset: str, keys: list[str]) -> dict[str, str]:
    return dict(conn.execute(
        "SELECT partition_key, data_version FROM partition_latest WHERE asset = %s "
        "AND partition_key = ANY(%b) AND status = 'materialized'", (asset, keys)).fetchall())


# --------------------------------------------------------------------------------------------
# Reading


def latest(conn: psycopg.Connection, asset: Asset | str, key: str) -> Latest | None:
    """The latest state of (asset, key): one primary-key lookup."""
    row = conn.execute(
        """
        SELECT asset, partition_key, materialization_id, status, success_id, code_version,
               data_version, changed_seq, updated_at
        FROM partition_latest WHERE asset = %s AND partition_key = %s
        """,
        (_asset_name(asset), key),
    ).fetchone()
    return Latest(*row) if row else None


def history(conn: psycopg.Connection, asset: Asset | str, key: str, limit: int = 20
            ) -> list[Materialization]:
    """Materializations of (asset, key), newest first, with the inputs each consumed."""
    rows = conn.execute(
        """
        SELECT m.id, m.asset, m.partition_key, m.status, m.code_version, m.data_version,
               m.flow_run_id, m.task_run_id, m.started_at, m.finished_at, m.metadata, m.error,
               m.orphaned,
               coalesce((SELECT array_agg(ARRAY[i.upstream_asset, i.upstream_key,
                                                i.all_keys::text, i.data_version])
                         FROM materialization_inputs i WHERE i.materialization_id = m.id),
                        '{}')
        FROM materializations m
        WHERE m.asset = %s AND m.partition_key = %s
        ORDER BY m.id DESC LIMIT %s
        """,
        (_asset_name(asset), key, limit),
    ).fetchall()
    out = []
    for *head, inputs in rows:
        parsed: dict[tuple[str, str | AllKeys], str] = {}
        for up, uk, whole, version in inputs:
            parsed[(up, ALL if whole == "true" else uk)] = version
        out.append(Materialization(*head, inputs=parsed))
    return out
