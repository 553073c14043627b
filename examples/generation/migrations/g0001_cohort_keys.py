"""Generation: which cohort lists which generation key.

Revision ID: g0001
Revises:
Create Date: 2026-12-01

The root of the "generation" branch (examples/generation/migrations, named by the generation
Definitions). A key leaves its partition set only when no cohort lists it any more, so the
membership of every cohort is kept here, one row per (cohort, set, key). It depends on the
engine's tables (the partition registry) and on the talent branch's 0004, which creates the
`llm_calls` cost ledger every generation call is recorded in.
"""

from alembic import op

revision = "g0001"
down_revision = None
branch_labels = ("generation",)
depends_on = ("e0001", "0004")


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS generation_cohort_keys (
            cohort_id     text COLLATE "C" NOT NULL,
            set_name      text COLLATE "C" NOT NULL,
            partition_key text COLLATE "C" NOT NULL,
            PRIMARY KEY (cohort_id, set_name, partition_key)
        )
        """
    )
    # "Does another cohort still list this key?" when a cohort drops it.
    op.execute(
        "CREATE INDEX IF NOT EXISTS generation_cohort_keys_by_key "
        "ON generation_cohort_keys (set_name, partition_key)"
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS generation_cohort_keys")
