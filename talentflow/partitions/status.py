"""Per-key status of an asset, in bulk: missing, running, materialized, failed or stale.

Stale is never about time. A materialized key is stale when

* its code changed: the code version of its current data differs from the asset's now, or
* an upstream it consumed changed: for a recorded (upstream, key) input, that key's current
  data version differs from the consumed one (or the key is gone); for an `AllOf` input, the
  upstream's watermark (newest data change or key removal) is past the consumed one.

One SQL query joins the selection ⋈ partition_latest ⋈ materialization_inputs ⋈
partition_latest (upstream); the code version is a parameter. Upstream state that does not
change data does not make anything stale: an upstream whose latest attempt *failed* still
holds the data its consumers read, so they stay materialized (the upstream shows `failed`
itself). An upstream key that *disappeared* does (its consumers read something that no longer
exists). Staleness is one hop by default — downstream of a stale key is not stale until that
key re-runs and actually changes its data version, so an unchanged re-run costs nothing
downstream. `propagate=True` also marks keys whose upstream keys are stale themselves
("upstream X['k'] is stale"), for a whole-pipeline view.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

import psycopg

from talentflow.partitions import catalog
from talentflow.partitions.assets import AllKeys, Asset
from talentflow.partitions.sets import DynamicPartitions

STATES = ("missing", "running", "materialized", "failed", "stale")
_SHORT = 12  # characters of a version shown in reasons


class KeyStatus(NamedTuple):
    # A NamedTuple, not a dataclass: 100k of them are built per status call (~3x cheaper).
    key: str
    status: str
    reasons: tuple[str, ...] = ()


def _selection(conn: psycopg.Connection, asset: Asset, keys: Sequence[str] | None
               ) -> tuple[str, dict[str, object]]:
    """SQL yielding (key, ord) for the selected keys, and its parameters."""
    if keys is None and isinstance(asset.partitions, DynamicPartitions):
        # Straight from the registry: 100k keys never travel to Python and back.
        return (
            "SELECT key, key AS ord FROM partition_keys WHERE set_name = %(set)s",
            {"set": asset.partitions.name},
        )
    selected = asset.partitions.keys(conn) if keys is None else list(keys)
    return (
        "SELECT key, ord FROM unnest(%(keys)b::text[]) WITH ORDINALITY AS s(key, ord)",
        {"keys": selected},
    )


def _query(selection: str, detail: bool) -> str:
    # `changed` lists, per materialized key, the consumed inputs that no longer match: per-key
    # inputs against the upstream's current data version, whole-upstream inputs against its
    # watermark. The CASE keeps the ::bigint cast away from rows that are not watermarks.
    # Only upstreams the asset declares now are compared (a change of deps changes the code
    # version anyway), which also keeps other assets' rows out of the hash tables. The
    # watermarks are MATERIALIZED: inlined, PostgreSQL re-evaluates them once per input row.
    body = f"""
    WITH sel AS ({selection}),
    cur AS MATERIALIZED (
        SELECT s.key, s.ord, l.status, l.code_version, l.success_id, l.materialization_id
        FROM sel s
        LEFT JOIN partition_latest l ON l.asset = %(asset)s AND l.partition_key = s.key
    ),
    wm AS MATERIALIZED (
        SELECT u.asset,
               greatest(coalesce((SELECT max(p.changed_seq) FROM partition_latest p
                                  WHERE p.asset = u.asset), 0),
                        coalesce((SELECT a.removed_seq FROM partition_assets a
                                  WHERE a.asset = u.asset), 0)) AS seq
        FROM unnest(%(all_of)s::text[]) AS u(asset)
    ),
    changed AS (
        SELECT c.key, i.upstream_asset, i.upstream_key, false AS all_keys,
               i.data_version AS consumed, up.data_version AS now
        FROM cur c
        JOIN materialization_inputs i
          ON i.materialization_id = c.success_id AND NOT i.all_keys
         AND i.upstream_asset = ANY(%(per_key)s::text[])
        LEFT JOIN partition_latest up
               ON up.asset = i.upstream_asset AND up.partition_key = i.upstream_key
              AND up.asset = ANY(%(per_key)s::text[])
        WHERE c.status = 'materialized' AND coalesce(up.data_version, '') <> i.data_version
        UNION ALL
        SELECT c.key, i.upstream_asset, i.upstream_key, true, i.data_version, NULL
        FROM cur c
        JOIN materialization_inputs i ON i.materialization_id = c.success_id AND i.all_keys
        JOIN wm ON wm.asset = i.upstream_asset
        WHERE c.status = 'materialized'
          AND wm.seq > CASE WHEN i.all_keys THEN i.data_version::bigint END
    )"""
    state = """
        CASE WHEN c.status IS NULL THEN 'missing'
             WHEN c.status <> 'materialized' THEN c.status
             WHEN (%(code)s::text IS NOT NULL AND c.code_version IS DISTINCT FROM %(code)s::text)
               OR p.key IS NOT NULL THEN 'stale'
             ELSE 'materialized' END"""
    if not detail:
        return body + f"""
    SELECT state, count(*) FROM (
        SELECT {state} AS state
        FROM cur c LEFT JOIN (SELECT DISTINCT key FROM changed) p ON p.key = c.key
    ) x GROUP BY state"""
    # The error of failed keys: a lookup for those few rows, not a join over all history.
    return body + f""",
    per_key AS (
        SELECT key, array_agg(upstream_asset ORDER BY upstream_asset, upstream_key) AS ua,
               array_agg(upstream_key ORDER BY upstream_asset, upstream_key) AS uk,
               array_agg(all_keys ORDER BY upstream_asset, upstream_key) AS aw,
               array_agg(consumed ORDER BY upstream_asset, upstream_key) AS cv,
               array_agg(now ORDER BY upstream_asset, upstream_key) AS nv
        FROM changed GROUP BY key
    )
    SELECT c.key, {state} AS state,
           CASE WHEN c.status = 'materialized' THEN c.code_version END AS code_version,
           CASE WHEN c.status = 'failed' THEN
               (SELECT f.error FROM materializations f WHERE f.id = c.materialization_id)
           END AS error,
           p.ua, p.uk, p.aw, p.cv, p.nv
    FROM cur c
    LEFT JOIN per_key p ON p.key = c.key
    ORDER BY c.ord"""


def _params(asset: Asset, extra: dict[str, object]) -> dict[str, object]:
    return {
        "asset": asset.name,
        # Source assets have no code of their own to go stale.
        "code": None if asset.source else asset.code_version,
        "all_of": asset.all_of,
        "per_key": [d.name for d in asset.deps if d.name not in asset.all_of],
        **extra,
    }


def _watermark_details(conn: psycopg.Connection, pairs: set[tuple[str, int]]
                       ) -> dict[tuple[str, int], str]:
    """For each (upstream asset, consumed watermark): 'N keys changed since (first few)'."""
    if not pairs:
        return {}
    ups, marks = zip(*sorted(pairs), strict=True)
    rows = conn.execute(
        """
        SELECT u.asset, u.mark,
               (SELECT count(*) FROM (SELECT 1 FROM partition_latest p
                                      WHERE p.asset = u.asset AND p.changed_seq > u.mark
                                      LIMIT 1001) x),
               (SELECT array_agg(partition_key) FROM (
                    SELECT partition_key FROM partition_latest p
                    WHERE p.asset = u.asset AND p.changed_seq > u.mark
                    ORDER BY p.changed_seq LIMIT 3) y),
               coalesce((SELECT a.removed_seq > u.mark FROM partition_assets a
                         WHERE a.asset = u.asset), false)
        FROM unnest(%s::text[], %s::bigint[]) AS u(asset, mark)
        """,
        (list(ups), list(marks)),
    ).fetchall()
    out = {}
    for up, mark, n, first, removed in rows:
        parts = []
        if n:
            count = "1000+" if n > 1000 else str(n)
            shown = ", ".join(repr(k) for k in (first or []))
            more = ", …" if n > len(first or []) else ""
            parts.append(f"{count} key(s) changed since this run ({shown}{more})")
        if removed:
            parts.append("keys were removed since this run")
        out[(up, int(mark))] = f"upstream {up}: " + "; ".join(parts or ["changed"])
    return out


def status(
    conn: psycopg.Connection,
    asset: Asset,
    keys: Sequence[str] | None = None,
    *,
    propagate: bool = False,
) -> list[KeyStatus]:
    """The status of each selected key (default: every key of the asset's set), in order."""
    selection, extra = _selection(conn, asset, keys)
    rows = conn.execute(_query(selection, detail=True), _params(asset, extra)).fetchall()
    code = None if asset.source else asset.code_version
    wm_pairs = {
        (ua, int(cv))
        for *_, uas, _uk, aws, cvs, _nv in rows if uas
        for ua, aw, cv in zip(uas, aws, cvs, strict=True) if aw
    }
    details = _watermark_details(conn, wm_pairs)
    out = []
    for key, state, old_code, error, uas, uks, aws, cvs, nvs in rows:
        if state == "materialized" or state == "missing" or state == "running":
            out.append(KeyStatus(key, state))
            continue
        reasons: list[str] = []
        if state == "failed":
            reasons.append(f"failed: {error}" if error else "failed")
        elif state == "stale":
            if code is not None and old_code != code:
                reasons.append(f"code changed: {(old_code or '?')[:_SHORT]} → {code[:_SHORT]}")
            for ua, uk, aw, cv, nv in zip(uas or [], uks or [], aws or [], cvs or [], nvs or [],
                                          strict=True):
                if aw:
                    reasons.append(details.get((ua, int(cv)), f"upstream {ua}: changed"))
                elif nv is None:
                    reasons.append(f"upstream {ua}[{uk!r}] is missing")
                elif cv == "":
                    reasons.append(f"upstream {ua}[{uk!r}] appeared (was missing when read)")
                else:
                    reasons.append(
                        f"upstream {ua}[{uk!r}] changed: {cv[:_SHORT]} → {nv[:_SHORT]}"
                    )
        out.append(KeyStatus(key, state, tuple(reasons)))
    if propagate:
        out = _propagate(conn, asset, out)
    return out


def _propagate(conn: psycopg.Connection, asset: Asset, statuses: list[KeyStatus]
               ) -> list[KeyStatus]:
    """Also mark materialized keys whose upstream keys are stale (transitively), and add
    that reason to keys that are stale already."""
    fresh = [s.key for s in statuses if s.status in ("materialized", "stale")]
    if not fresh or not asset.deps:
        return statuses
    extra: dict[str, list[str]] = {}
    for dep in asset.deps:
        upstream = dep.asset if isinstance(dep.asset, Asset) else catalog.find_asset(dep.name)
        if upstream is None or upstream.source:
            continue  # source assets are never stale; unknown assets cannot be judged
        mapped = {k: dep.mapping.upstream_keys(k, asset.partitions, upstream.partitions)
                  for k in fresh}
        wanted = sorted({uk for v in mapped.values() if not isinstance(v, AllKeys) for uk in v})
        whole = any(isinstance(v, AllKeys) for v in mapped.values())
        up_status = status(conn, upstream, None if whole else wanted, propagate=True)
        stale_up = {s.key for s in up_status if s.status == "stale"}
        if not stale_up:
            continue
        first = ", ".join(repr(k) for k in sorted(stale_up)[:3])
        for k, ukeys in mapped.items():
            if isinstance(ukeys, AllKeys):
                extra.setdefault(k, []).append(
                    f"upstream {upstream.name}: {len(stale_up)} key(s) stale ({first}"
                    f"{', …' if len(stale_up) > 3 else ''})"
                )
            else:
                for uk in ukeys:
                    if uk in stale_up:
                        extra.setdefault(k, []).append(f"upstream {upstream.name}[{uk!r}] is stale")
    if not extra:
        return statuses
    return [
        KeyStatus(s.key, "stale", s.reasons + tuple(extra[s.key])) if s.key in extra else s
        for s in statuses
    ]


def counts(
    conn: psycopg.Connection, asset: Asset, keys: Sequence[str] | None = None,
    *, propagate: bool = False,
) -> dict[str, int]:
    """Number of keys per status (every state present, zeros included)."""
    if propagate:
        tally = Counter(s.status for s in status(conn, asset, keys, propagate=True))
    else:
        selection, extra = _selection(conn, asset, keys)
        tally = Counter(dict(conn.execute(_query(selection, detail=False),
                                          _params(asset, extra)).fetchall()))
    return {state: int(tally.get(state, 0)) for state in STATES}
