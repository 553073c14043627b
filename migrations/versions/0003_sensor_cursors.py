"""Sensor cursors, and a NOTIFY that wakes the sensor when source rows change.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-22

`sensor_cursors` holds, per (sensor, table), the highest `change_seq` already handed on; the
sensor advances it in the same transaction that registers the keys it found.

The statement-level trigger only says "table X changed" (one notification per statement, and
PostgreSQL folds identical notifications of one transaction into one, delivered at commit): a
listener (`talentflow serve`) ticks the sensor at once instead of waiting for its interval. A
lost notification costs latency, never a row: the cursor query is the source of truth.
"""

from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

CHANNEL = "talentflow_source_rows"  # also in flows/sensors.py (NOTIFY_CHANNEL)


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE sensor_cursors (
            name        text PRIMARY KEY,
            position    bigint NOT NULL DEFAULT 0,
            updated_at  timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION notify_source_rows() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME);
            RETURN NULL;
        END $$
        """
    )
    for table in ("candidates", "jobs"):
        op.execute(
            f"CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION notify_source_rows()"
        )


def downgrade() -> None:
    for table in ("candidates", "jobs"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify ON {table}")
    op.execute("DROP FUNCTION IF EXISTS notify_source_rows()")
    op.execute("DROP TABLE IF EXISTS sensor_cursors")
