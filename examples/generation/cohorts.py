"""Cohorts register the generations to make.

- `cohort_membership` (source): one partition per folder `data/cohorts/<cohort_id>/` holding
  a membership.csv, the file's text its value, versioned by content. Observing it registers
  new cohort ids.
- `cohort`: parses a cohort's file (membership.py) and registers the key of every listed
  generation in its stage's set, idempotently; keys the cohort no longer lists are deleted
  from their set — their history stays, marked orphaned — unless another cohort still lists
  them — in the table `generation_cohort_keys`, or in another cohort's file not registered
  yet.

Registering is a side effect the engine's cache must not skip (a file edited and reverted
would be a cache hit), so `cohort` is never cached. Keys are registered in one transaction,
under a lock all cohorts share: two cohorts edited at once cannot drop a key both list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import psycopg

from examples.generation.membership import FILE_NAME, CohortError, Membership, parse
from examples.generation.partitions import SETS, STAGES, cohorts
from examples.generation.paths import cohorts_dir
from examples.generation.templates import read_combos, read_templates
from talentflow.engine import Dep, Output, asset, source_asset
from talentflow.engine.context import KeyContext
from talentflow.partitions import registry
from talentflow.partitions.versions import data_version

TABLE = "generation_cohort_keys"
_LOCK = "talentflow.generation.cohorts"
# Created on first use, as the engine creates a DataFrame asset's table, rather than by an
# alembic branch of our own: `talentflow.db.migrate.upgrade` refuses a database holding the
# head of a branch its locations do not define, so a "generation" head in the shared default
# database would stop `make demo` and `talentflow serve` (they migrate engine + talent only).
_DDL = (
    f"""
    CREATE TABLE IF NOT EXISTS {TABLE} (
        cohort_id     text COLLATE "C" NOT NULL,
        set_name      text COLLATE "C" NOT NULL,
        partition_key text COLLATE "C" NOT NULL,
        PRIMARY KEY (cohort_id, set_name, partition_key)
    )
    """,
    # "Does another cohort still list this key?" when a cohort drops it.
    f"CREATE INDEX IF NOT EXISTS {TABLE}_by_key ON {TABLE} (set_name, partition_key)",
)


def ensure_table(conn: psycopg.Connection) -> None:
    """Create the membership table if it is missing (call under the cohorts' lock: two
    concurrent CREATE ... IF NOT EXISTS can still collide)."""
    if conn.execute("SELECT to_regclass(%s) IS NULL", (TABLE,)).fetchone()[0]:
        for statement in _DDL:
            conn.execute(statement)


def _table_exists(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (TABLE,)).fetchone()[0]


@dataclass
class Registration:
    """What registering one cohort did, per partition set."""

    listed: dict[str, int] = field(default_factory=dict)
    added: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)


def _pairs(rows: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    return {(s, k) for s, k in rows}


def register(conn: psycopg.Connection, membership: Membership,
             keep: Iterable[tuple[str, str]] = ()) -> Registration:
    """Make the registry hold exactly what the cohort lists (and what other cohorts list).
    `keep`: (set, key) pairs other cohorts list but have not registered yet (a row moved from
    one cohort's file to another's must not be dropped in between)."""
    cohort_id = membership.cohort_id
    now = set(membership.pairs())
    out = Registration()
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_LOCK,))
        ensure_table(conn)
        before = _pairs(conn.execute(
            f"SELECT set_name, partition_key FROM {TABLE} WHERE cohort_id = %s",
            (cohort_id,)).fetchall())
        gone, new = before - now, now - before
        if gone:
            conn.execute(
                f"DELETE FROM {TABLE} t USING unnest(%s::text[], %s::text[]) AS g(s, k) "
                "WHERE t.cohort_id = %s AND t.set_name = g.s AND t.partition_key = g.k",
                ([s for s, _ in gone], [k for _, k in gone], cohort_id))
        if new:
            conn.execute(
                f"INSERT INTO {TABLE} (cohort_id, set_name, partition_key) "
                "SELECT %s, s, k FROM unnest(%s::text[], %s::text[]) AS n(s, k)",
                (cohort_id, [s for s, _ in new], [k for _, k in new]))
        for stage in STAGES:
            name, keys = SETS[stage].name, membership.keys.get(stage, [])
            out.listed[name] = len(keys)
            out.added[name] = registry.add_keys(conn, name, keys) if keys else 0
        out.dropped = _drop_unlisted(conn, gone - set(keep))
    return out


def _drop_unlisted(conn: psycopg.Connection, gone: set[tuple[str, str]]) -> dict[str, int]:
    """Delete from their sets the keys in `gone` that no cohort lists any more."""
    if not gone:
        return {}
    still = _pairs(conn.execute(
        f"SELECT DISTINCT t.set_name, t.partition_key FROM {TABLE} t "
        "JOIN unnest(%s::text[], %s::text[]) AS g(s, k) "
        "ON t.set_name = g.s AND t.partition_key = g.k",
        ([s for s, _ in gone], [k for _, k in gone])).fetchall())
    dropped: dict[str, int] = {}
    for stage in reversed(STAGES):  # children first, as a reader of the registry expects
        name = SETS[stage].name
        keys = sorted(k for s, k in gone - still if s == name)
        if keys:
            dropped[name] = registry.delete_keys(conn, name, keys)
    return dropped


def drop(conn: psycopg.Connection, cohort_id: str) -> Registration:
    """Forget a cohort: its keys no other cohort lists are deleted (history orphaned), and
    its id leaves the cohorts set. Delete its folder too, or the next observation brings it
    back."""
    out = register(conn, Membership(cohort_id, 0, {}))
    registry.delete_keys(conn, cohorts.name, [cohort_id])
    return out


def listed_keys(conn: psycopg.Connection, cohort_id: str, stage: str) -> list[str]:
    """The keys of `stage` a cohort lists, in byte order."""
    if not _table_exists(conn):
        return []
    return [k for (k,) in conn.execute(
        f"SELECT partition_key FROM {TABLE} WHERE cohort_id = %s AND set_name = %s "
        "ORDER BY partition_key", (cohort_id, SETS[stage].name)).fetchall()]


# --------------------------------------------------------------------------------------------
# Assets


def _cohort_files() -> dict[str, str]:
    root = cohorts_dir()
    if not root.is_dir():
        return {}
    return {p.parent.name: p.read_text(encoding="utf-8")
            for p in sorted(root.glob(f"*/{FILE_NAME}")) if p.is_file()}


def listed_elsewhere(cohort_id: str) -> set[tuple[str, str]]:
    """(set, key) pairs the other cohorts' files list now. A malformed file lists nothing
    here (the rows it registered before still count, from the table)."""
    combos, templates = read_combos(), {s: read_templates(s) for s in STAGES}
    out: set[tuple[str, str]] = set()
    for other, text in _cohort_files().items():
        if other == cohort_id:
            continue
        try:
            out.update(parse(other, text, combos=combos, templates=templates).pairs())
        except CohortError:
            continue
    return out


def _load(keys: list[str]) -> dict[str, str]:
    every = _cohort_files()
    return {k: every[k] for k in keys if k in every}


def _observe(conn: object) -> list[tuple[str, str]]:
    return [(k, data_version(text)) for k, text in _cohort_files().items()]


cohort_membership = source_asset(
    "cohort_membership", cohorts, observer=_observe, fn=_load,
    description="data/cohorts/<cohort_id>/membership.csv, versioned by content")


@asset(partitions=cohorts, cache=False, deps=[Dep(cohort_membership, param="membership")])
def cohort(ctx: KeyContext, key: str, membership: str) -> Output:
    """Registers the cohort's generations (and drops those it no longer lists)."""
    parsed = parse(key, membership, combos=read_combos(),
                   templates={s: read_templates(s) for s in STAGES})
    done = register(ctx.conn, parsed, keep=listed_elsewhere(key))
    ctx.conn.commit()  # registered keys are visible to the runs that generate them
    ctx.log.info("cohort %s: %s listed, %s new, %s dropped", key, done.listed, done.added,
                 done.dropped)
    return Output({"cohort": key, "rows": parsed.rows,
                   "keys": {s: len(parsed.keys.get(s, [])) for s in STAGES},
                   "listed": data_version(parsed.pairs())},
                  metadata={"added": done.added, "dropped": done.dropped})
