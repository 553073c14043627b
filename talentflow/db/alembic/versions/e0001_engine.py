"""Engine tables: partitions, materialization history, consumed inputs, latest state, change
counters, partition claims and the default value store.

Revision ID: e0001
Revises:
Create Date: 2026-11-23

The root of the "engine" branch, shipped inside the package so a project without the talent
application's tables can migrate the engine alone (`talentflow db upgrade --engine-only`).

Every statement is `IF NOT EXISTS`: a database migrated by the former single chain (whose
revision 0002 created the partition tables with these very definitions) adopts them here
without error, and only gains what is new (partition_assets.change_seq, partition_claims,
asset_values).

Every key column is `text COLLATE "C"`: keys compare byte by byte (UTF-8 byte order is code
point order), so ordering, keyset paging and prefix ranges are exact and no locale folds case,
accents or punctuation.
"""

from alembic import op

revision = "e0001"
down_revision = None
branch_labels = ("engine",)
depends_on = None


def upgrade() -> None:
    # Keys of dynamic sets. The primary key serves lookups, keyset paging and prefix ranges.
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS partition_keys (
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
        CREATE TABLE IF NOT EXISTS partition_assets (
            asset          text COLLATE "C" PRIMARY KEY,
            set_name       text COLLATE "C" NOT NULL,
            dimension_sets text[] COLLATE "C",
            removed_seq    bigint NOT NULL DEFAULT 0,
            updated_at     timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    # A per-asset, commit-ordered change counter: a writer locks the asset's row and bumps it
    # right before commit, so the partition_latest.changed_seq values taken from it follow
    # commit order (a bigserial id does not: a transaction that took a smaller id can commit
    # after one that took a larger id, and a reader's watermark would already have passed it).
    op.execute(
        "ALTER TABLE partition_assets ADD COLUMN IF NOT EXISTS change_seq bigint NOT NULL DEFAULT 0"
    )
    op.execute("CREATE INDEX IF NOT EXISTS partition_assets_by_set ON partition_assets (set_name)")
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS materializations (
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
        "CREATE INDEX IF NOT EXISTS materializations_by_key "
        "ON materializations (asset, partition_key, id DESC)"
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
        CREATE TABLE IF NOT EXISTS materialization_inputs (
            materialization_id bigint NOT NULL,
            upstream_asset     text COLLATE "C" NOT NULL,
            upstream_key       text COLLATE "C" NOT NULL,
            all_keys           boolean NOT NULL DEFAULT false,
            data_version       text NOT NULL
        )
        """
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS materialization_inputs_by_materialization "
        "ON materialization_inputs (materialization_id)"
    )
    # One row per (asset, key), kept current by every write:
    #   materialization_id/status — the latest attempt (running, materialized or failed);
    #   success_id/code_version/data_version — the latest success, i.e. the data that exists
    #     and the inputs it was computed from (what staleness compares);
    #   changed_seq — the asset's change number (partition_assets.change_seq) of the write
    #     that last CHANGED data_version, so "did anything of asset X change since watermark
    #     W" is an index range on (asset, changed_seq);
    #   history_count — rows of history kept, so retention only touches keys over the limit.
    # Every run updates its row twice (start, finish): fillfactor leaves room on the page for
    # HOT updates when no indexed column changes.
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS partition_latest (
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
        "CREATE INDEX IF NOT EXISTS partition_latest_changes "
        "ON partition_latest (asset, changed_seq) "
        "INCLUDE (partition_key) WHERE changed_seq IS NOT NULL"
    )
    # Who is materializing (asset, key) right now: one row per claimed key, so two runs never
    # compute the same key at once. A claim whose heartbeat_at is older than lease_seconds
    # belongs to a dead holder and may be taken over; the holder index releases or reaps all
    # claims of one holder (a worker, a flow run) at once.
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS partition_claims (
            asset         text COLLATE "C" NOT NULL,
            partition_key text COLLATE "C" NOT NULL,
            holder        text NOT NULL,
            flow_run_id   text,
            claimed_at    timestamptz NOT NULL DEFAULT now(),
            heartbeat_at  timestamptz NOT NULL DEFAULT now(),
            lease_seconds integer NOT NULL,
            PRIMARY KEY (asset, partition_key)
        )
        """
    )
    op.execute("CREATE INDEX IF NOT EXISTS partition_claims_by_holder ON partition_claims (holder)")
    # The engine's default value store in PostgreSQL: the latest value of each (asset, key)
    # with the data version it was written under, so a reader can tell which materialization
    # produced it. A project with its own tables (the talent application's) does not use it.
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS asset_values (
            asset         text COLLATE "C" NOT NULL,
            partition_key text COLLATE "C" NOT NULL,
            value         jsonb,
            data_version  text NOT NULL,
            updated_at    timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (asset, partition_key)
        )
        """
    )
    # A database adopted from the former chain numbered changes with materialization ids:
    # start each asset's counter above what it already recorded, or new changes would be
    # numbered below an old watermark and never seen by AllOf consumers.
    op.execute(
        """
        INSERT INTO partition_assets (asset, set_name)
        SELECT DISTINCT asset, '' FROM partition_latest ON CONFLICT (asset) DO NOTHING
        """
    )
    op.execute(
        """
        UPDATE partition_assets a SET change_seq = greatest(
            a.change_seq, a.removed_seq,
            coalesce((SELECT max(p.changed_seq) FROM partition_latest p
                      WHERE p.asset = a.asset), 0))
        """
    )


def downgrade() -> None:
    for table in (
        "asset_values", "partition_claims", "partition_latest", "materialization_inputs",
        "materializations", "partition_assets", "partition_keys",
    ):
        op.execute(f"DROP TABLE IF EXISTS {table}")
