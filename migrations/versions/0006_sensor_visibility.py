"""The sensor reads by commit visibility: each source row names its writing transaction.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24

`change_xid` (xid8, 64-bit: it never wraps) is the id of the transaction that made the row's
latest real change, set by the same BEFORE trigger that takes `change_seq`, and taken BEFORE
`change_seq` (flows/sensors.py relies on that order: a transaction holding a sequence value
already has its id). A no-op UPDATE keeps both: it is not a change. Rows written before this
revision get 0, a transaction that committed before any snapshot the sensor holds.

`sensor_cursors` gains the sensor's visibility state (flows/sensors.py explains it):

- `done_snapshot`: every row whose change_xid is committed in this snapshot was handed on;
- `batch_snapshot`, `batch_xid`, `batch_seq`: the batch being handed on (rows committed in
  `batch_snapshot` but not in `done_snapshot`), and how far through it, in
  (change_xid, change_seq) order;
- `mark_seq`, `mark_xid`: every change_seq <= mark_seq was taken by a transaction whose id is
  below mark_xid; once a finished batch's snapshot has no transaction below mark_xid in
  flight, `position` (a plain watermark: every change_seq <= position was handed on) moves
  up to mark_seq;
- `version`: bumped by every write, so a cursor move is a compare-and-set.

Every statement is idempotent (IF NOT EXISTS, OR REPLACE): a database adopted from the former
single chain may already have the columns.
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TOUCH = """
CREATE OR REPLACE FUNCTION touch_source_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Generated columns are not computed yet in a BEFORE trigger: compare the content.
    IF TG_OP = 'UPDATE' AND
            (to_jsonb(NEW) - 'content_hash' - 'change_seq' - 'change_xid' - 'updated_at')
            = (to_jsonb(OLD) - 'content_hash' - 'change_seq' - 'change_xid' - 'updated_at') THEN
        -- A no-op update is not a change: it keeps its sequence value and its writer.
        NEW.change_seq := OLD.change_seq;
        NEW.change_xid := OLD.change_xid;
        RETURN NEW;
    END IF;
    -- The transaction id first, then the sequence value (see flows/sensors.py).
    NEW.change_xid := pg_current_xact_id();
    NEW.change_seq := nextval('source_change_seq');
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END $$
"""

# The function as migration 0001 created it (for downgrade).
_TOUCH_0001 = """
CREATE OR REPLACE FUNCTION touch_source_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (to_jsonb(NEW) - 'content_hash' - 'change_seq' - 'updated_at')
            = (to_jsonb(OLD) - 'content_hash' - 'change_seq' - 'updated_at') THEN
        RETURN NEW;  -- a no-op update is not a change
    END IF;
    NEW.change_seq := nextval('source_change_seq');
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END $$
"""


def upgrade() -> None:
    for table in ("candidates", "jobs"):
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS change_xid xid8 NOT NULL DEFAULT '0'"
        )
        # The sensor's page query: a range of transaction ids, in (change_xid, change_seq) order.
        op.execute(
            f"CREATE INDEX IF NOT EXISTS {table}_change_xid ON {table} (change_xid, change_seq)"
        )
    op.execute(_TOUCH)
    op.execute(
        """
        ALTER TABLE sensor_cursors
            ADD COLUMN IF NOT EXISTS done_snapshot  pg_snapshot,
            ADD COLUMN IF NOT EXISTS batch_snapshot pg_snapshot,
            ADD COLUMN IF NOT EXISTS batch_xid      xid8,
            ADD COLUMN IF NOT EXISTS batch_seq      bigint,
            ADD COLUMN IF NOT EXISTS mark_seq       bigint,
            ADD COLUMN IF NOT EXISTS mark_xid       xid8,
            ADD COLUMN IF NOT EXISTS version        bigint NOT NULL DEFAULT 0
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE sensor_cursors
            DROP COLUMN IF EXISTS done_snapshot, DROP COLUMN IF EXISTS batch_snapshot,
            DROP COLUMN IF EXISTS batch_xid, DROP COLUMN IF EXISTS batch_seq,
            DROP COLUMN IF EXISTS mark_seq, DROP COLUMN IF EXISTS mark_xid,
            DROP COLUMN IF EXISTS version
        """
    )
    op.execute(_TOUCH_0001)
    for table in ("candidates", "jobs"):
        op.execute(f"DROP INDEX IF EXISTS {table}_change_xid")
        op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS change_xid")
