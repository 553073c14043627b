"""Automation state: what the reconcile loop last did per group (cron ticks, launched runs).

Revision ID: e0002
Revises: e0001
Create Date: 2026-11-30

One row per automation group ("eager", "cron:<asset>", ...): the cron tick it last answered,
so a tick runs once, and the flow run it last launched, so a group is never launched twice
while its previous run is still going.
"""

from alembic import op

revision = "e0002"
down_revision = "e0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS automation_state (
            name        text COLLATE "C" PRIMARY KEY,
            last_tick   timestamptz,
            last_run_id text,
            updated_at  timestamptz NOT NULL DEFAULT now()
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS automation_state")
