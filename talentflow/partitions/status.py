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
from collections.abc import Iterator, Sequence
from enum import StrEnum
from typing import NamedTuple

import psycopg

from talentflow.partitions import registry
from talentflow.partitions.assets import AllKeys, Asset
from talentflow.partitions.sets import DynamicPartitions

STATES = ("missing", "running", "materialized", "failed", "stale")
_SHORT = 12  # characters of a version shown in reasons


class ReasonKind(StrEnum):
    """Why a key needs work: what code branches on (the text is for people)."""

    CODE_CHANGED = "code_changed"
    INPUT_CHANGED = "input_changed"  # a per-key upstream's data version differs
    INPUT_APPEARED = "input_appeared"  # read while missing, exists now
    INPUT_MISSING = "input_missing"  # read, gone now
    ALL_OF_CHANGED = "all_of_changed"  # an AllOf upstream changed since the watermark read
    UPSTREAM_STALE = "upstream_stale"  # (propagate) an upstream key is stale itself
    FAILED = "failed"  # the latest attempt failed
    CHECK_FAILED = "check_failed"  # a blocking asset check failed on the current data
    LEASE_EXPIRED = "lease_expired"  # the run holding the claim died
    CLAIMED = "claimed"  # (running) a live run holds the key


class Reason(NamedTuple):
    kind: ReasonKind
    text: str
    upstream: str | None = None  # the upstream asset concerned, if any

    def __str__(self) -> str:
        return self.text


class KeyStatus(NamedTuple):
    # A NamedTuple, not a dataclass: 100k of them are built per status call (~3x cheaper).
    key: str
    status: str
    reasons: tuple[Reason, ...] = ()

    @property
    def kinds(self) -> frozenset[ReasonKind]:
        return frozenset(r.kind for r in self.reasons)

    def describe(self) -> str:
        """The reasons as one line of text."""
        return "; ".join(r.text for r in self.reasons) or self.status


def _selection(conn: psycopg.Connection, asset: Asset, keys: Sequence[str] | None
               ) -> tuple[str, dict[str, object]]:
    """SQL yielding (key, ord) for the selected keys, and its parameters."""
    if keys is None and isinstance(asset.partitions, DynamicPartitions):
        # Straight from the registry: 100k keys never travel to Python and back.
        return (
            "SELECT key, key AS ord FROM partition_keys WHERE set_name = %(set)s",
            {"set": asset.partitions.name},
        )
    # Duplicates collapse: a key has one status.
    selected = asset.partitions.keys(conn) if keys is None else list(dict.fromkeys(keys))
    return (
        "SELECT key, ord FROM unnest(%(keys)b::text[]) WITH ORDINALITY AS s(key, ord)",
        {"keys": selected},
    )


# The inputs of a key's current data that no longer match, for one key (l = its latest row):
# per-key inputs against the upstream's current version, whole-upstream inputs against the
# watermark. Only upstreams the asset declares now are compared (a change of deps changes
# the code version anyway). The CASE keeps the ::bigint cast away from other rows. The
# set-wise queries (_set_query) use the same join and test over a whole asset.
_UPSTREAM_NOW = """
    LEFT JOIN partition_latest up
           ON NOT i.all_keys AND up.asset = i.upstream_asset AND up.partition_key = i.upstream_key
          AND up.asset = ANY(%(per_key)s::text[])"""
_INPUT_CHANGED = """
      CASE WHEN i.all_keys
           THEN i.upstream_asset = ANY(%(all_of)s::text[])
                AND (SELECT wm.seq FROM wm WHERE wm.asset = i.upstream_asset)
                    > i.data_version::bigint
           ELSE i.upstream_asset = ANY(%(per_key)s::text[])
                AND coalesce(up.data_version, '') <> i.data_version
      END"""
_CHANGED_INPUTS = f"""
    FROM materialization_inputs i
    {_UPSTREAM_NOW}
    WHERE i.materialization_id = l.success_id AND {_INPUT_CHANGED}"""


# Blocking checks (engine/checks.py) failing on the key's current data: the key is `failed`
# (check failed: <name>) unless it is stale, for new input is the way out of a failed check.
# Only the asset's declared blocking checks count (a removed check blocks nothing); the
# partial index on check_latest holds only blocking rows.
_BLOCKING_CHECKS = """
    FROM check_latest k
    WHERE cardinality(%(blocking_checks)s::text[]) > 0
      AND k.asset = %(asset)s AND k.partition_key = s.key AND k.blocks
      AND k.check_name = ANY(%(blocking_checks)s::text[])
      AND k.materialization_id = l.success_id"""


# A claim (claims.py) overrides the recorded state: a live lease is `running`, an expired one
# means its run died before recording, so the key is `failed` (lease expired).
_CLAIM_JOIN = """
    LEFT JOIN LATERAL (
        SELECT c.holder, c.flow_run_id,
               c.heartbeat_at + c.lease_seconds * interval '1 second' < now() AS expired
        FROM partition_claims c
        WHERE c.asset = %(asset)s AND c.partition_key = s.key
          AND c.holder IS DISTINCT FROM %(ignore_holder)s::text
    ) c ON true"""


# One key's state (no reasons): what counts group by and what paging filters on.
_STATE = f"""CASE WHEN c.holder IS NOT NULL AND NOT c.expired THEN 'running'
                WHEN c.holder IS NOT NULL THEN 'failed'
                WHEN l.status IS NULL THEN 'missing'
                WHEN l.status <> 'materialized' THEN l.status
                WHEN %(code)s::text IS NOT NULL AND l.code_version IS DISTINCT FROM %(code)s::text
                     THEN 'stale'
                WHEN EXISTS (SELECT 1 {_CHANGED_INPUTS}) THEN 'stale'
                WHEN EXISTS (SELECT 1 {_BLOCKING_CHECKS}) THEN 'failed'
                ELSE 'materialized' END"""


# The watermark of each AllOf upstream: its newest data change or key removal. MATERIALIZED:
# inlined, PostgreSQL would recompute it for every input row.
_WATERMARKS = """
    WITH wm AS MATERIALIZED (
        SELECT u.asset,
               greatest(coalesce((SELECT max(p.changed_seq) FROM partition_latest p
                                  WHERE p.asset = u.asset), 0),
                        coalesce((SELECT a.removed_seq FROM partition_assets a
                                  WHERE a.asset = u.asset), 0)) AS seq
        FROM unnest(%(all_of)s::text[]) AS u(asset)
    )"""


# Selections at least this large are counted set-wise (below): per-key index probes cost
# ~10 µs a key, hash joins over the whole asset ~2 µs.
SET_BASED_MIN = 20_000

_SET_STATE = _STATE.replace(f"EXISTS (SELECT 1 {_CHANGED_INPUTS})", "ch.id IS NOT NULL")


def _set_counts_query(selection: str) -> str:
    """Counts for a large selection: the materializations whose inputs changed are found in
    ONE join over the asset (inputs ⋈ upstream latest), not probed key by key."""
    return _set_query(selection, f"SELECT {_SET_STATE} AS state, count(*)", "GROUP BY 1")


def _set_work_query(selection: str) -> str:
    """The keys of a large selection that are not up to date, with their state, in order."""
    return _set_query(selection, f"SELECT s.key, {_SET_STATE} AS state",
                      f"WHERE {_SET_STATE} <> 'materialized' ORDER BY s.ord")


def _set_query(selection: str, head: str, tail: str) -> str:
    return f"""
    {_WATERMARKS},
    changed AS MATERIALIZED (
        SELECT DISTINCT i.materialization_id AS id
        FROM partition_latest l2
        JOIN materialization_inputs i ON i.materialization_id = l2.success_id
        {_UPSTREAM_NOW}
        WHERE l2.asset = %(asset)s AND l2.status = 'materialized' AND {_INPUT_CHANGED}
    )
    {head}
    FROM ({selection}) s
    LEFT JOIN partition_latest l ON l.asset = %(asset)s AND l.partition_key = s.key
    LEFT JOIN (
        SELECT c.partition_key, c.holder,
               c.heartbeat_at + c.lease_seconds * interval '1 second' < now() AS expired
        FROM partition_claims c
        WHERE c.asset = %(asset)s AND c.holder IS DISTINCT FROM %(ignore_holder)s::text
    ) c ON c.partition_key = s.key
    LEFT JOIN changed ch ON ch.id = l.success_id
    {tail}"""


# Planner settings per query shape, set for one statement and restored after (whatever
# transaction the caller is in). Per key: with fresh statistics PostgreSQL flattens the
# per-key probes into a hash join over the asset's whole input history (~0.25 s for 1,000
# keys of a 100k asset instead of ~20 ms, the tail once seen); set-wise: on tables without
# statistics (just loaded) it would pick nested loops over a million rows.
_PER_KEY = {"enable_hashjoin": "off", "enable_mergejoin": "off"}
_SET_WISE = {"enable_nestloop": "off", "work_mem": "64MB"}


def _run_planned(conn: psycopg.Connection, query: str, params: dict[str, object],
                 settings: dict[str, str]) -> list:
    names = list(settings)
    with conn.transaction():
        before = conn.execute("SELECT " + ", ".join(["current_setting(%s)"] * len(names)),
                              names).fetchone()
        assert before is not None
        conn.execute("SELECT " + ", ".join(["set_config(%s, %s, true)"] * len(names)),
                     [x for n in names for x in (n, settings[n])])
        try:
            # prepare=False: a prepared statement could switch to a generic plan.
            return conn.execute(query, params, prepare=False).fetchall()
        finally:
            conn.execute("SELECT " + ", ".join(["set_config(%s, %s, true)"] * len(names)),
                         [x for pair in zip(names, before, strict=True) for x in pair])


def _run_set_based(conn: psycopg.Connection, query: str, params: dict[str, object]) -> list:
    return _run_planned(conn, query, params, _SET_WISE)


def _run_per_key(conn: psycopg.Connection, query: str, params: dict[str, object]) -> list:
    return _run_planned(conn, query, params, _PER_KEY)


def _query(selection: str, detail: bool) -> str:
    # One pass over the selection. Per key: its latest row (primary key), then a probe of
    # the inputs its current data was computed from (index on materialization_id) and, per
    # input, the upstream's current version (primary key) or watermark. The shape is
    # deliberate: every step is an index lookup driven by the key, so the cost is linear in
    # the selection whatever the history size. It is run with hash and merge joins off
    # (_PER_KEY): left free, the planner turns it into a join over every input of the asset
    # once it has statistics. The watermarks are MATERIALIZED: inlined,
    # PostgreSQL would recompute them for every input row.
    head = _WATERMARKS
    if not detail:
        return head + f"""
    SELECT {_STATE} AS state, count(*)
    FROM ({selection}) s
    LEFT JOIN partition_latest l ON l.asset = %(asset)s AND l.partition_key = s.key
    {_CLAIM_JOIN}
    GROUP BY 1"""
    # One row per key, or per changed input of a key (consecutive, in selection order).
    # The error of failed keys: a lookup for those few rows, not a join over all history.
    return head + f"""
    SELECT s.key,
           CASE WHEN c.holder IS NOT NULL AND NOT c.expired THEN 'running'
                WHEN c.holder IS NOT NULL THEN 'expired'
                ELSE l.status END,
           CASE WHEN l.status = 'materialized' THEN l.code_version END,
           CASE WHEN c.holder IS NOT NULL THEN c.flow_run_id
                WHEN l.status = 'failed' THEN
               (SELECT f.error FROM materializations f WHERE f.id = l.materialization_id)
           END,
           x.upstream_asset, x.upstream_key, x.all_keys, x.consumed, x.now,
           CASE WHEN l.status = 'materialized' AND c.holder IS NULL THEN
               (SELECT string_agg(k.check_name, ', ' ORDER BY k.check_name)
                {_BLOCKING_CHECKS})
           END
    FROM ({selection}) s
    LEFT JOIN partition_latest l ON l.asset = %(asset)s AND l.partition_key = s.key
    {_CLAIM_JOIN}
    LEFT JOIN LATERAL (
        SELECT i.upstream_asset, i.upstream_key, i.all_keys, i.data_version AS consumed,
               up.data_version AS now
        {_CHANGED_INPUTS}
    ) x ON l.status = 'materialized' AND c.holder IS NULL
    ORDER BY s.ord"""


def _params(asset: Asset, extra: dict[str, object]) -> dict[str, object]:
    return {
        "ignore_holder": None,
        "asset": asset.name,
        # Source assets have no code of their own to go stale.
        "code": None if asset.source else asset.code_version,
        "all_of": asset.all_of,
        "per_key": [d.name for d in asset.deps if d.name not in asset.all_of],
        "blocking_checks": list(asset.blocking_checks),
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
                    ORDER BY p.changed_seq, p.partition_key LIMIT 3) y),
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


def _code_reason(old: str | None, new: str) -> Reason:
    return Reason(ReasonKind.CODE_CHANGED,
                  f"code changed: {(old or '?')[:_SHORT]} → {new[:_SHORT]}")


def status(
    conn: psycopg.Connection,
    asset: Asset,
    keys: Sequence[str] | None = None,
    *,
    propagate: bool = False,
    ignore_holder: str | None = None,
) -> list[KeyStatus]:
    """The status of each selected key (default: every key of the asset's set), in order.

    `ignore_holder`: the status as if that holder's claims did not exist (a run checking,
    under its own claims, what the others recorded meanwhile)."""
    if propagate:
        return _propagated(conn, asset, keys, _Memo())
    return _direct(conn, asset, keys, ignore_holder)


class Work(NamedTuple):
    """What a run plans from: the keys that are not up to date, and how many are."""

    keys: list[KeyStatus]  # missing, stale, failed and running keys, with reasons, in order
    up_to_date: int


def needing_work(conn: psycopg.Connection, asset: Asset, keys: Sequence[str] | None = None
                 ) -> Work:
    """The one-hop status of the selected keys that are not materialized and current.

    A large selection is filtered in SQL first (one set-wise pass), so planning a run over
    a million up-to-date keys builds no Python object per key; only the keys returned get
    their reasons."""
    selection, extra = _selection(conn, asset, keys)
    if keys is not None and len(keys) < SET_BASED_MIN:
        rows = _direct(conn, asset, keys)
        todo = [s for s in rows if s.status != "materialized"]
        return Work(todo, len(rows) - len(todo))
    params = _params(asset, {**extra, "ignore_holder": None})
    found = [k for k, _ in _run_set_based(conn, _set_work_query(selection), params)]
    total = len(extra["keys"]) if "keys" in extra else registry.count_keys(
        conn, asset.partitions.name)
    return Work(_direct(conn, asset, found) if found else [], total - len(found))


def status_all(
    conn: psycopg.Connection, assets: Sequence[Asset], *, propagate: bool = True
) -> dict[str, list[KeyStatus]]:
    """Status of every key of several assets (pass them upstream first, as Definitions do).

    With `propagate`, each upstream's stale keys are found once and reused by its downstreams.
    """
    memo = _Memo()
    return {a.name: _propagated(conn, a, None, memo) if propagate else _direct(conn, a, None)
            for a in assets}


def iter_status(conn: psycopg.Connection, asset: Asset, *, propagate: bool = False,
                chunk: int = 50_000) -> Iterator[KeyStatus]:
    """Every key's status, in order, computed `chunk` keys at a time: memory is bounded by
    the chunk (and, with `propagate`, the upstreams' stale keys), never by the set's size."""
    return _chunked(conn, asset, propagate, chunk, _Memo())


def iter_status_all(conn: psycopg.Connection, assets: Sequence[Asset], *,
                    propagate: bool = True, chunk: int = 50_000
                    ) -> Iterator[tuple[Asset, Iterator[KeyStatus]]]:
    """`iter_status` of several assets (upstream first), consumed in order: each upstream's
    stale keys are found once, while its own statuses stream by."""
    memo = _Memo()
    for a in assets:
        yield a, _chunked(conn, a, propagate, chunk, memo)


def _chunked(conn: psycopg.Connection, asset: Asset, propagate: bool, chunk: int,
             memo: _Memo) -> Iterator[KeyStatus]:
    stale: set[str] = set()
    for keys in _key_chunks(conn, asset, chunk):
        rows = _direct(conn, asset, keys)
        if propagate:
            rows = _propagate(conn, asset, rows, memo)
            stale.update(s.key for s in rows if s.status == "stale")
        yield from rows
    if propagate:  # read to the end: downstreams need not compute it again
        memo.stale.setdefault(asset.name, frozenset(stale))


def _key_chunks(conn: psycopg.Connection, asset: Asset, chunk: int) -> Iterator[list[str]]:
    if not isinstance(asset.partitions, DynamicPartitions):
        every = asset.partitions.keys(conn)
        for at in range(0, len(every), chunk):
            yield every[at:at + chunk]
        return
    after = None
    while True:  # keyset paging on the registry's primary key
        keys = [k for (k,) in conn.execute(
            "SELECT key FROM partition_keys WHERE set_name = %s "
            "AND (%s::text IS NULL OR key > %s::text) ORDER BY key LIMIT %s",
            (asset.partitions.name, after, after, chunk)).fetchall()]
        if not keys:
            return
        yield keys
        after = keys[-1]


class _Memo:
    """What one propagated status call tree computed once per upstream asset."""

    def __init__(self) -> None:
        self.lists: dict[str, list[KeyStatus]] = {}  # whole-asset statuses (status_all)
        self.stale: dict[str, frozenset[str]] = {}  # whole-asset stale keys (propagated)


def _propagated(conn: psycopg.Connection, asset: Asset, keys: Sequence[str] | None,
                memo: _Memo) -> list[KeyStatus]:
    if keys is None and asset.name in memo.lists:
        return memo.lists[asset.name]
    rows = _propagate(conn, asset, _direct(conn, asset, keys), memo)
    if keys is None:
        memo.lists[asset.name] = rows
    return rows


def _stale_keys(conn: psycopg.Connection, asset: Asset, keys: list[str] | None,
                memo: _Memo) -> frozenset[str]:
    """The keys of `asset` (of `keys`, or all) that are stale, transitively."""
    if keys is not None and len(keys) <= 1000:
        return frozenset(s.key for s in _propagated(conn, asset, keys, memo)
                         if s.status == "stale")
    if asset.name not in memo.stale:
        if asset.name in memo.lists:
            found = (s for s in memo.lists[asset.name] if s.status == "stale")
        else:
            found = (s for s in _chunked(conn, asset, True, 50_000, memo)
                     if s.status == "stale")
        memo.stale[asset.name] = frozenset(s.key for s in found)
    every = memo.stale[asset.name]
    return every if keys is None else every.intersection(keys)


def _direct(conn: psycopg.Connection, asset: Asset, keys: Sequence[str] | None,
            ignore_holder: str | None = None) -> list[KeyStatus]:
    """The one-query, one-hop status."""
    selection, extra = _selection(conn, asset, keys)
    extra = {**extra, "ignore_holder": ignore_holder}
    # The whole set: hash joins over the asset. Given keys (a page, a chunk, a run's keys):
    # probes linear in their number, whatever the asset's size.
    rows = _run_planned(conn, _query(selection, detail=True), _params(asset, extra),
                        _SET_WISE if keys is None else _PER_KEY)
    code = None if asset.source else asset.code_version
    details = _watermark_details(conn, {(r[4], int(r[7])) for r in rows if r[6]})
    out: list[KeyStatus] = []
    i, n = 0, len(rows)
    while i < n:
        key, state, old_code, error, up = rows[i][:5]
        if up is None:
            i += 1
            if state is None:
                out.append(KeyStatus(key, "missing"))
            elif state == "running" and error:
                out.append(KeyStatus(key, "running", (Reason(
                    ReasonKind.CLAIMED, f"running: claimed by run {error}"),)))
            elif state == "expired":
                out.append(KeyStatus(key, "failed", (Reason(
                    ReasonKind.LEASE_EXPIRED,
                    f"failed: run {error or '?'} died (lease expired)"),)))
            elif state == "failed":
                out.append(KeyStatus(key, "failed", (Reason(
                    ReasonKind.FAILED, f"failed: {error}" if error else "failed"),)))
            elif state == "materialized" and code is not None and old_code != code:
                out.append(KeyStatus(key, "stale", (_code_reason(old_code, code),)))
            elif state == "materialized" and rows[i - 1][9]:
                out.append(KeyStatus(key, "failed", (Reason(
                    ReasonKind.CHECK_FAILED, f"check failed: {rows[i - 1][9]}"),)))
            else:
                out.append(KeyStatus(key, state))
            continue
        # A materialized key with changed inputs: one row per input, consecutive.
        changed = []
        while i < n and rows[i][0] == key and rows[i][4] is not None:
            changed.append(rows[i][4:9])
            i += 1
        reasons = [_code_reason(old_code, code)] if code is not None and old_code != code else []
        for ua, uk, aw, cv, nv in sorted(changed):
            if aw:
                reasons.append(Reason(ReasonKind.ALL_OF_CHANGED, details.get(
                    (ua, int(cv)), f"upstream {ua}: changed"), ua))
            elif nv is None:
                reasons.append(Reason(ReasonKind.INPUT_MISSING,
                                      f"upstream {ua}[{uk!r}] is missing", ua))
            elif cv == "":
                reasons.append(Reason(ReasonKind.INPUT_APPEARED,
                                      f"upstream {ua}[{uk!r}] appeared (was missing when read)",
                                      ua))
            else:
                reasons.append(Reason(
                    ReasonKind.INPUT_CHANGED,
                    f"upstream {ua}[{uk!r}] changed: {cv[:_SHORT]} → {nv[:_SHORT]}", ua))
        out.append(KeyStatus(key, "stale", tuple(reasons)))
    return out


def _propagate(conn: psycopg.Connection, asset: Asset, statuses: list[KeyStatus],
               memo: _Memo) -> list[KeyStatus]:
    """Also mark materialized keys whose upstream keys are stale (transitively), and add
    that reason to keys that are stale already."""
    fresh = [s.key for s in statuses if s.status in ("materialized", "stale")]
    if not fresh or not asset.deps:
        return statuses
    extra: dict[str, list[Reason]] = {}
    for dep in asset.deps:
        upstream = dep.resolved
        if upstream is None or upstream.source:
            continue  # source assets are never stale; unknown assets cannot be judged
        mapped = {k: dep.mapping.upstream_keys(k, asset.partitions, upstream.partitions)
                  for k in fresh}
        wanted = sorted({uk for v in mapped.values() if not isinstance(v, AllKeys) for uk in v})
        whole = any(isinstance(v, AllKeys) for v in mapped.values())
        # A few keys: ask for those; many: the whole upstream, computed once per call tree.
        stale_up = _stale_keys(conn, upstream, None if whole else wanted, memo)
        if not stale_up:
            continue
        first = ", ".join(repr(k) for k in sorted(stale_up)[:3])
        for k, ukeys in mapped.items():
            if isinstance(ukeys, AllKeys):
                extra.setdefault(k, []).append(Reason(
                    ReasonKind.UPSTREAM_STALE,
                    f"upstream {upstream.name}: {len(stale_up)} key(s) stale ({first}"
                    f"{', …' if len(stale_up) > 3 else ''})", upstream.name))
            else:
                for uk in ukeys:
                    if uk in stale_up:
                        extra.setdefault(k, []).append(Reason(
                            ReasonKind.UPSTREAM_STALE,
                            f"upstream {upstream.name}[{uk!r}] is stale", upstream.name))
    if not extra:
        return statuses
    return [
        KeyStatus(s.key, "stale", s.reasons + tuple(extra[s.key])) if s.key in extra else s
        for s in statuses
    ]


def page(
    conn: psycopg.Connection, asset: Asset, *, states: Sequence[str] | None = None,
    after: str | None = None, limit: int = 1000,
) -> list[KeyStatus]:
    """One page of keys (with reasons) in key order — byte order for dynamic sets, the set's
    order otherwise — after `after`, filtered by state in SQL: a page of 200 failed keys among
    100k costs one index pass, not 100k statuses built in Python. One-hop status."""
    bad = set(states or ()) - set(STATES)
    if bad:
        raise ValueError(f"unknown state(s) {sorted(bad)}; expected {list(STATES)}")
    if isinstance(asset.partitions, DynamicPartitions):
        selection = ("SELECT key, key AS ord FROM partition_keys WHERE set_name = %(set)s "
                     "AND (%(after)s::text IS NULL OR key > %(after)s::text)")
        extra: dict[str, object] = {"set": asset.partitions.name, "after": after}
    else:
        every = asset.partitions.keys(conn)
        start = 0
        if after is not None:
            try:
                start = every.index(after) + 1
            except ValueError:
                raise ValueError(f"after={after!r} is not a key of "
                                 f"{asset.partitions.name!r}") from None
        selection = ("SELECT key, ord FROM unnest(%(keys)b::text[]) WITH ORDINALITY "
                     "AS s(key, ord)")
        extra = {"keys": every[start:]}
    query = f"""
    {_WATERMARKS}
    SELECT key FROM (
        SELECT s.key, s.ord, {_STATE} AS state
        FROM ({selection}) s
        LEFT JOIN partition_latest l ON l.asset = %(asset)s AND l.partition_key = s.key
        {_CLAIM_JOIN}
    ) x
    WHERE %(states)s::text[] IS NULL OR x.state = ANY(%(states)s::text[])
    ORDER BY x.ord
    LIMIT %(limit)s"""
    params = _params(asset, {**extra, "ignore_holder": None,
                             "states": list(states) if states else None, "limit": limit})
    keys = [k for (k,) in _run_per_key(conn, query, params)]
    return _direct(conn, asset, keys) if keys else []


def counts(
    conn: psycopg.Connection, asset: Asset, keys: Sequence[str] | None = None,
    *, propagate: bool = False,
) -> dict[str, int]:
    """Number of keys per status (every state present, zeros included)."""
    if propagate:
        tally = Counter(s.status for s in status(conn, asset, keys, propagate=True))
    else:
        selection, extra = _selection(conn, asset, keys)
        params = _params(asset, extra)
        if keys is None or len(keys) >= SET_BASED_MIN:
            tally = Counter(dict(_run_set_based(conn, _set_counts_query(selection), params)))
        else:
            tally = Counter(dict(_run_per_key(conn, _query(selection, detail=False), params)))
    return {state: int(tally.get(state, 0)) for state in STATES}
