"""Partitions: registered keys, materialization history, consumed inputs, latest state.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Every key column is `text COLLATE "C"`: keys compare byte by byte (UTF-8 byte order is code
point order), so ordering, keyset paging and prefix ranges are exact and no locale folds case,
accents or punctuation.
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Keys of dynamic sets. The primary key serves lookups, keyset paging and prefix ranges.
    op.execute(
        """
        CREATE TABLE partition_keys (
            set_name  text COLLATE "C" NOT NULL,
            key       text COLLATE "C" NOT NULL,
            added_at  timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (set_name, key)
        )
        """
    )
    # Which set (or, for multi assets, which set per dimension) each asset is partitioned by:
    # deleting keys from a set must find the assets whose materializations become orphans.
    # removed_seq moves when keys of the asset disappear, so "all of upstream" consumers
    # (watermark = max(changed_seq, removed_seq)) notice removals as well as changes.
    op.execute(
        """
        CREATE TABLE partition_assets (
            asset          text COLLATE "C" PRIMARY KEY,
            set_name       text COLLATE "C" NOT NULL,
            dimension_sets text[] COLLATE "C",
            removed_seq    bigint NOT NULL DEFAULT 0,
            updated_at     timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX partition_assets_by_set ON partition_assets (set_name)")
    op.execute(
        """
        CREATE TABLE materializations (
            id            bigserial PRIMARY KEY,
            asset         text COLLATE "C" NOT NULL,
            partition_key text COLLATE "C" NOT NULL,
            status        text NOT NULL CHECK (status IN ('running', 'materialized', 'failed')),
            code_version  text NOT NULL,
            data_version  text,
            flow_run_id   text,
            task_run_id   text,
            started_at    timestamptz NOT NULL DEFAULT now(),
            finished_at   timestamptz,
            metadata      jsonb NOT NULL DEFAULT '{}'::jsonb,
            error         text,
            orphaned      boolean NOT NULL DEFAULT false
        )
        """
    )
    # History of one key (newest first), retention pruning, orphaning.
    op.execute(
        "CREATE INDEX materializations_by_key ON materializations (asset, partition_key, id DESC)"
    )
    # The upstream (asset, key) versions a materialization actually consumed. all_keys rows
    # stand for "every key of upstream_asset" (upstream_key '*', data_version = the upstream's
    # watermark); the flag keeps them apart from a real key spelled '*'.
    # Written in bulk (two rows per materialization is common), read only by
    # materialization_id: one narrow index, no foreign key (retention deletes inputs with
    # their materialization in one statement) and no wide primary key — uniqueness comes
    # from the writer's mapping of (upstream, key) -> version.
    op.execute(
        """
        CREATE TABLE materialization_inputs (
            materialization_id bigint NOT NULL,
            upstream_asset     text COLLATE "C" NOT NULL,
            upstream_key       text COLLATE "C" NOT NULL,
            all_keys           boolean NOT NULL DEFAULT false,
            data_version       text NOT NULL
        )
        """
    )
    op.execute(
        "CREATE INDEX materialization_inputs_by_materialization "
        "ON materialization_inputs (materialization_id)"
    )
    # One row per (asset, key), kept current by every write:
    #   materialization_id/status — the latest attempt (running, materialized or failed);
    #   success_id/code_version/data_version — the latest success, i.e. the data that exists
    #     and the inputs it was computed from (what staleness compares);
    #   changed_seq — id of the materialization that last CHANGED data_version, so "did
    #     anything of asset X change since watermark W" is an index range on (asset, changed_seq);
    #   history_count — rows of history kept, so retention only touches keys over the limit.
    # Every run updates its row twice (start, finish): fillfactor leaves room on the page for
    # HOT updates when no indexed column changes.
    op.execute(
        """
        CREATE TABLE partition_latest (
            asset              text COLLATE "C" NOT NULL,
            partition_key      text COLLATE "C" NOT NULL,
            materialization_id bigint NOT NULL,
            status             text NOT NULL
                               CHECK (status IN ('running', 'materialized', 'failed')),
            success_id         bigint,
            code_version       text,
            data_version       text,
            changed_seq        bigint,
            history_count      integer NOT NULL DEFAULT 1,
            updated_at         timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (asset, partition_key)
        ) WITH (fillfactor = 80)
        """
    )
    op.execute(
        "CREATE INDEX partition_latest_changes ON partition_latest (asset, changed_seq) "
        "INCLUDE (partition_key) WHERE changed_seq IS NOT NULL"
    )


def downgrade() -> None:
    for table in (
        "partition_latest", "materialization_inputs", "materializations", "partition_assets",
        "partition_keys",
    ):
        op.execute(f"DROP TABLE IF EXISTS {table}")
