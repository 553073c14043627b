"""The external `sales` table: the shops' point-of-sale feed. The pipeline reads it and never
writes it; the generator and the demo create it here, as the feed would in production."""

from __future__ import annotations

import psycopg

SALES_TABLE = "sales"
TIME_COLUMN = "sold_at"

# The index on sold_at is what each day's hash and read (a range per window) scan.
SALES_DDL = (
    f"""
    CREATE TABLE IF NOT EXISTS {SALES_TABLE} (
        id         bigserial PRIMARY KEY,
        sold_at    timestamptz NOT NULL,
        store_id   text NOT NULL,
        region     text NOT NULL,
        product    text NOT NULL,
        quantity   integer NOT NULL,
        unit_price numeric(10, 2) NOT NULL,
        amount     double precision NOT NULL
    )
    """,
    f"CREATE INDEX IF NOT EXISTS {SALES_TABLE}_{TIME_COLUMN} ON {SALES_TABLE} ({TIME_COLUMN})",
)


def ensure_sales_table(conn: psycopg.Connection) -> None:
    """Create the sales table and its index if they are missing (idempotent)."""
    for statement in SALES_DDL:
        conn.execute(statement)


def sales_table_exists(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (SALES_TABLE,)).fetchone()[0]
