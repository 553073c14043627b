"""Asset check results, per (check, key), tied to the materialization they checked.

Revision ID: e0003
Revises: e0002
Create Date: 2026-11-30

`check_results` is the history (one row per evaluation); `check_latest` points at the latest
result of each (check, key) and carries what status needs in one index probe per key: does a
blocking failure hold the key's *current* materialization (materialization_id = success_id)?
"""

from alembic import op

revision = "e0003"
down_revision = "e0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS check_results (
            id                 bigserial PRIMARY KEY,
            check_name         text COLLATE "C" NOT NULL,
            asset              text COLLATE "C" NOT NULL,
            partition_key      text COLLATE "C" NOT NULL,
            materialization_id bigint NOT NULL,
            data_version       text,
            outcome            text NOT NULL CHECK (outcome IN ('passed', 'failed', 'error')),
            severity           text NOT NULL CHECK (severity IN ('error', 'warn')),
            blocking           boolean NOT NULL,
            blocks             boolean NOT NULL,
            description        text,
            metadata           jsonb NOT NULL DEFAULT '{}'::jsonb,
            error              text,
            code_version       text NOT NULL,
            flow_run_id        text,
            checked_at         timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS check_results_by_key "
        "ON check_results (check_name, partition_key, id DESC)"
    )
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS check_latest (
            check_name         text COLLATE "C" NOT NULL,
            partition_key      text COLLATE "C" NOT NULL,
            asset              text COLLATE "C" NOT NULL,
            result_id          bigint NOT NULL,
            materialization_id bigint NOT NULL,
            outcome            text NOT NULL,
            blocks             boolean NOT NULL,
            checked_at         timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (check_name, partition_key)
        )
        """
    )
    # Status probes "does a blocking failure hold this key?": only blocking rows are indexed.
    op.execute(
        "CREATE INDEX IF NOT EXISTS check_latest_blocking "
        "ON check_latest (asset, partition_key) INCLUDE (check_name, materialization_id) "
        "WHERE blocks"
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS check_latest")
    op.execute("DROP TABLE IF EXISTS check_results")
