"""The keys of dynamic partition sets, stored in PostgreSQL (`partition_keys`).

Keys are stored verbatim: what passes `check_storable` (no NUL, not empty, ≤ 512 bytes of
UTF-8) is kept byte for byte, whatever it looks like (`'; DROP TABLE x; --`, `a/b`, `😀`,
a newline). Everything is passed as parameters or COPY data, never spliced into SQL.

Concurrency: adders insert in byte order, so two transactions adding overlapping key sets
wait on each other's rows in the same order and cannot deadlock; ON CONFLICT DO NOTHING makes
the loser a no-op instead of an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import psycopg

from talentflow.partitions import codec
from talentflow.partitions.errors import check_storable

# Below this many keys one array parameter beats the temp-table round trips of COPY.
_COPY_THRESHOLD = 500


def _validated(set_name: str, keys: Iterable[str]) -> list[str]:
    if isinstance(keys, str):
        raise TypeError("pass a list of keys, not one str")
    # dict.fromkeys: de-duplicate, keep the first-seen order for error messages.
    return list(dict.fromkeys(check_storable(set_name, k) for k in keys))


def add_keys(conn: psycopg.Connection, set_name: str, keys: Iterable[str]) -> int:
    """Register keys (idempotent); returns how many were new. All are validated first."""
    batch = _validated(set_name, keys)
    if not batch:
        return 0
    with conn.transaction(), conn.cursor() as cur:
        if len(batch) < _COPY_THRESHOLD:
            cur.execute(
                """
                INSERT INTO partition_keys (set_name, key)
                SELECT %s, k FROM unnest(%s::text[]) AS k ORDER BY k COLLATE "C"
                ON CONFLICT DO NOTHING
                """,
                (set_name, batch),
            )
            return cur.rowcount
        cur.execute(
            'CREATE TEMP TABLE IF NOT EXISTS tf_key_batch (key text COLLATE "C") '
            "ON COMMIT DELETE ROWS"
        )
        cur.execute("TRUNCATE tf_key_batch")
        with cur.copy("COPY tf_key_batch (key) FROM STDIN") as copy:
            for k in batch:
                copy.write_row((k,))
        cur.execute(
            """
            INSERT INTO partition_keys (set_name, key)
            SELECT %s, key FROM tf_key_batch ORDER BY key
            ON CONFLICT DO NOTHING
            """,
            (set_name,),
        )
        added = cur.rowcount
        cur.execute("TRUNCATE tf_key_batch")
        return added


def _prefix_upper(prefix: str) -> str | None:
    """The smallest string greater than every string starting with `prefix` (code point order).

    With it a prefix is a plain index range (key >= prefix AND key < upper); LIKE would need
    escaping and is not index-assisted for a parameter in a generic plan.
    """
    chars = list(prefix)
    while chars and chars[-1] == "\U0010ffff":
        chars.pop()
    if not chars:
        return None
    nxt = ord(chars[-1]) + 1
    if 0xD800 <= nxt <= 0xDFFF:  # surrogates are not characters; skip past them
        nxt = 0xE000
    chars[-1] = chr(nxt)
    return "".join(chars)


def list_keys(
    conn: psycopg.Connection,
    set_name: str,
    prefix: str | None = None,
    after: str | None = None,
    limit: int = 1000,
) -> list[str]:
    """One page of keys in byte order: those > `after` (keyset paging), starting with `prefix`."""
    where = ["set_name = %(set)s"]
    params: dict[str, object] = {"set": set_name, "limit": limit}
    if prefix:
        where.append("key >= %(prefix)s")
        params["prefix"] = prefix
        upper = _prefix_upper(prefix)
        if upper is not None:
            where.append("key < %(upper)s")
            params["upper"] = upper
    if after is not None:
        where.append("key > %(after)s")
        params["after"] = after
    rows = conn.execute(
        f"SELECT key FROM partition_keys WHERE {' AND '.join(where)} ORDER BY key LIMIT %(limit)s",
        params,
    ).fetchall()
    return [r[0] for r in rows]


def all_keys(conn: psycopg.Connection, set_name: str) -> list[str]:
    """Every key of the set in byte order (one query; 100k keys is ~50 ms)."""
    rows = conn.execute(
        "SELECT key FROM partition_keys WHERE set_name = %s ORDER BY key", (set_name,)
    ).fetchall()
    return [r[0] for r in rows]


def count_keys(conn: psycopg.Connection, set_name: str, prefix: str | None = None) -> int:
    if prefix:
        upper = _prefix_upper(prefix)
        row = conn.execute(
            "SELECT count(*) FROM partition_keys WHERE set_name = %s AND key >= %s"
            + (" AND key < %s" if upper is not None else ""),
            (set_name, prefix, upper) if upper is not None else (set_name, prefix),
        ).fetchone()
    else:
        row = conn.execute(
            "SELECT count(*) FROM partition_keys WHERE set_name = %s", (set_name,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def has_key(conn: psycopg.Connection, set_name: str, key: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM partition_keys WHERE set_name = %s AND key = %s", (set_name, key)
    ).fetchone()
    return row is not None


def list_sets(conn: psycopg.Connection) -> list[tuple[str, int]]:
    """(set name, key count) of every dynamic set that has keys."""
    rows = conn.execute(
        "SELECT set_name, count(*) FROM partition_keys GROUP BY set_name ORDER BY set_name"
    ).fetchall()
    return [(r[0], int(r[1])) for r in rows]


def register_asset(
    conn: psycopg.Connection, asset: str, set_name: str, dimension_sets: Sequence[str] | None
) -> None:
    """Record which set an asset is partitioned by (needed to orphan its history on delete)."""
    dims = list(dimension_sets) if dimension_sets is not None else None
    conn.execute(
        """
        INSERT INTO partition_assets (asset, set_name, dimension_sets) VALUES (%s, %s, %s)
        ON CONFLICT (asset) DO UPDATE
            SET set_name = EXCLUDED.set_name, dimension_sets = EXCLUDED.dimension_sets,
                updated_at = now()
            WHERE (partition_assets.set_name, partition_assets.dimension_sets)
                  IS DISTINCT FROM (EXCLUDED.set_name, EXCLUDED.dimension_sets)
        """,
        (asset, set_name, dims),
    )


def delete_keys(conn: psycopg.Connection, set_name: str, keys: Iterable[str]) -> int:
    """Remove keys from a set; returns how many existed.

    Materializations of those keys stay as history, marked `orphaned`; their latest state is
    dropped (the key no longer exists, so it is neither materialized nor stale), and the
    owning asset's `removed_seq` moves so consumers of "all of it" see the removal.
    """
    batch = _validated(set_name, keys)
    if not batch:
        return 0
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            "DELETE FROM partition_keys WHERE set_name = %s AND key = ANY(%s::text[]) "
            "RETURNING key",
            (set_name, batch),
        )
        gone = [r[0] for r in cur.fetchall()]
        if not gone:
            return 0
        # Assets partitioned by this set directly: the key is the partition key.
        cur.execute(
            "SELECT asset FROM partition_assets WHERE set_name = %s AND dimension_sets IS NULL",
            (set_name,),
        )
        orphans: dict[str, list[str]] = {r[0]: gone for r in cur.fetchall()}
        # Multi assets with this set as a dimension: decode with the one codec (never a
        # second implementation in SQL) and match on that dimension's value.
        cur.execute(
            "SELECT asset, dimension_sets FROM partition_assets "
            "WHERE %s = ANY(dimension_sets)",
            (set_name,),
        )
        gone_set = set(gone)
        for asset, dims in cur.fetchall():
            positions = [i for i, d in enumerate(dims) if d == set_name]
            cur.execute(
                "SELECT DISTINCT partition_key FROM materializations "
                "WHERE asset = %s AND NOT orphaned",
                (asset,),
            )
            hit = []
            for (mkey,) in cur.fetchall():
                try:
                    values = codec.decode(mkey, len(dims))
                except ValueError:
                    continue
                if any(values[p] in gone_set for p in positions):
                    hit.append(mkey)
            if hit:
                orphans[asset] = hit
        for asset, mkeys in orphans.items():
            cur.execute(
                "UPDATE materializations SET orphaned = true "
                "WHERE asset = %s AND partition_key = ANY(%s::text[]) AND NOT orphaned",
                (asset, mkeys),
            )
            cur.execute(
                "DELETE FROM partition_latest WHERE asset = %s AND partition_key = ANY(%s::text[])",
                (asset, mkeys),
            )
            if cur.rowcount:
                # The asset's commit-ordered counter (materializations._next_seq), held to
                # commit like every other change of the asset.
                cur.execute(
                    "UPDATE partition_assets SET change_seq = change_seq + 1, "
                    "removed_seq = change_seq + 1 WHERE asset = %s",
                    (asset,),
                )
        return len(gone)
