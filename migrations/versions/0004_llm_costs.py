"""LLM cost ledger: one row per LLM call (per partition key), written by the normalize task's
cost hook.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

`cost_usd` is NULL when the model has no price in data/llm_prices.csv: an unknown cost is
reported as unknown ("unpriced"), never silently as 0. `numeric` without a scale keeps the
arithmetic exact (a call costs fractions of a cent).
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE llm_calls (
            id                bigserial PRIMARY KEY,
            called_at         timestamptz NOT NULL,
            provider          text NOT NULL,
            model             text NOT NULL,
            prompt_tokens     integer NOT NULL CHECK (prompt_tokens >= 0),
            completion_tokens integer NOT NULL CHECK (completion_tokens >= 0),
            cached_tokens     integer NOT NULL CHECK (cached_tokens >= 0),
            cost_usd          numeric CHECK (cost_usd >= 0),
            asset             text COLLATE "C" NOT NULL,
            partition_key     text COLLATE "C",
            flow_run_id       text,
            task_run_id       text,
            latency_s         double precision,
            attempts          integer,
            status            text NOT NULL CHECK (status IN ('ok', 'failed')),
            error             text
        )
        """
    )
    # A hook that fires twice for one task run (or a manual re-record) must not double-count:
    # a task run calls the LLM once per key, so (task run, key) identifies a call.
    op.execute(
        "CREATE UNIQUE INDEX llm_calls_once ON llm_calls (task_run_id, partition_key) "
        "WHERE task_run_id IS NOT NULL"
    )
    # The budget guard's two sums (this flow run, today) and the run / day reports.
    op.execute("CREATE INDEX llm_calls_by_run ON llm_calls (flow_run_id) INCLUDE (cost_usd)")
    op.execute("CREATE INDEX llm_calls_by_time ON llm_calls (called_at) INCLUDE (cost_usd)")
    # Completion-ratio history for estimates: the latest calls of one model and asset.
    op.execute("CREATE INDEX llm_calls_by_model ON llm_calls (model, asset, id DESC)")
    op.execute("CREATE INDEX llm_calls_by_partition ON llm_calls (asset, partition_key)")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS llm_calls")
