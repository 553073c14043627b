"""A small project with asset checks, for the CLI and API tests: documents in a real table,
a cleaned copy, a blocking check whose threshold is a row of `check_rules` (so a test can
fix the rule without touching code) and a warning-only check."""

from __future__ import annotations

import psycopg

from talentflow.engine import CheckResult, Definitions, Severity, asset, asset_check
from talentflow.partitions import DynamicPartitions, source_asset

docs = DynamicPartitions("checked_docs")


def _load(ctx) -> dict[str, str]:
    rows = ctx.conn.execute("SELECT id, body FROM checked_docs WHERE id = ANY(%s)", [ctx.keys])
    return dict(rows.fetchall())


raw = source_asset("raw_checked_docs", docs, fn=_load)


@asset(partitions=docs)
def tidy_docs(raw_checked_docs: str) -> dict:
    return {"text": raw_checked_docs.strip()}


@asset(partitions=docs)
def doc_lengths(tidy_docs: dict) -> int:
    return len(tidy_docs["text"])


@asset_check(asset=tidy_docs, blocking=True)
def long_enough(ctx, tidy_docs: dict) -> CheckResult:
    """A tidy document has at least check_rules.min_len characters."""
    (least,) = ctx.conn.execute("SELECT min_len FROM check_rules").fetchone()
    return CheckResult(len(tidy_docs["text"]) >= least,
                       metadata={"length": len(tidy_docs["text"]), "min_len": least})


@asset_check(asset=tidy_docs)
def no_digits(tidy_docs: dict) -> CheckResult:
    """Digits in a document are suspicious, not fatal."""
    return CheckResult(not any(c.isdigit() for c in tidy_docs["text"]), Severity.WARN)


defs = Definitions(assets=[raw, tidy_docs, doc_lengths], checks=[long_enough, no_digits])


def create_tables(db: str, min_len: int) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("CREATE TABLE checked_docs (id text PRIMARY KEY, body text NOT NULL)")
        conn.execute("CREATE TABLE check_rules (min_len int NOT NULL)")
        conn.execute("INSERT INTO check_rules VALUES (%s)", (min_len,))


def set_min_len(db: str, min_len: int) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("UPDATE check_rules SET min_len = %s", (min_len,))


def put_docs(db: str, rows: dict[str, str]) -> None:
    from talentflow.db import connect
    from talentflow.partitions import registry

    with psycopg.connect(db, autocommit=True) as conn:
        for key, body in rows.items():
            conn.execute("INSERT INTO checked_docs VALUES (%s, %s) ON CONFLICT (id) DO UPDATE "
                         "SET body = EXCLUDED.body", (key, body))
    with connect() as conn:
        registry.add_keys(conn, "checked_docs", list(rows))
