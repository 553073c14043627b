"""Talent tables: candidates, jobs, quarantine, normalized records, vectors, matches.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

The root of the talent application's branch ("talent"); the engine's tables are the "engine"
branch shipped in talentflow/db/alembic/versions (see talentflow.db.migrate).
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = ("talent",)
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    # Every insert or update of a source row takes the next value: the sensor's cursor.
    # A sequence, not updated_at, so ties and clock skew can never hide a change.
    op.execute("CREATE SEQUENCE source_change_seq")
    op.execute(
        """
        CREATE FUNCTION touch_source_row() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            -- Generated columns are not computed yet in a BEFORE trigger: compare the content.
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
    )
    # content_hash is the source asset's data version: a hash of the row's content (not of
    # its timestamps), computed by PostgreSQL so edits made with plain SQL count too.
    op.execute(
        r"""
        CREATE TABLE candidates (
            id          text PRIMARY KEY,
            name        text NOT NULL,
            email       text,
            location    text,
            cv_text     text NOT NULL,
            extra       jsonb NOT NULL DEFAULT '{}'::jsonb,
            content_hash text GENERATED ALWAYS AS (md5(
                name || E'\x1f' || coalesce(email, '') || E'\x1f' || coalesce(location, '')
                || E'\x1f' || cv_text || E'\x1f' || extra::text)) STORED,
            change_seq  bigint NOT NULL DEFAULT 0,
            created_at  timestamptz NOT NULL DEFAULT now(),
            updated_at  timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        r"""
        CREATE TABLE jobs (
            id          text PRIMARY KEY,
            title       text NOT NULL,
            company     text,
            location    text,
            description text NOT NULL,
            extra       jsonb NOT NULL DEFAULT '{}'::jsonb,
            content_hash text GENERATED ALWAYS AS (md5(
                title || E'\x1f' || coalesce(company, '') || E'\x1f' || coalesce(location, '')
                || E'\x1f' || description || E'\x1f' || extra::text)) STORED,
            change_seq  bigint NOT NULL DEFAULT 0,
            created_at  timestamptz NOT NULL DEFAULT now(),
            updated_at  timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    for table in ("candidates", "jobs"):
        op.execute(
            f"CREATE TRIGGER {table}_touch BEFORE INSERT OR UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION touch_source_row()"
        )
        op.execute(f"CREATE INDEX {table}_change_seq ON {table} (change_seq)")

    op.execute(
        """
        CREATE TABLE quarantine (
            id          bigserial PRIMARY KEY,
            entity      text NOT NULL,
            source      text NOT NULL,
            line        integer,
            raw         text NOT NULL,
            reason      text NOT NULL,
            raw_sha256  text NOT NULL,
            created_at  timestamptz NOT NULL DEFAULT now(),
            UNIQUE (entity, raw_sha256, reason)
        )
        """
    )

    for entity, table in (("candidate", "candidates"), ("job", "jobs")):
        op.execute(
            f"""
            CREATE TABLE normalized_{table} (
                {entity}_id      text PRIMARY KEY REFERENCES {table}(id) ON DELETE CASCADE,
                title            text NOT NULL,
                seniority        text NOT NULL,
                years_experience real NOT NULL,
                skills           text[] NOT NULL,
                location         text,
                remote           boolean NOT NULL,
                summary          text NOT NULL,
                provider         text NOT NULL,
                model            text NOT NULL,
                data_version     text NOT NULL,
                normalized_at    timestamptz NOT NULL DEFAULT now()
            )
            """
        )
        op.execute(
            f"""
            CREATE TABLE {entity}_vectors (
                {entity}_id  text PRIMARY KEY REFERENCES {table}(id) ON DELETE CASCADE,
                embedding    vector(384) NOT NULL,
                model        text NOT NULL,
                data_version text NOT NULL,
                embedded_at  timestamptz NOT NULL DEFAULT now()
            )
            """
        )
        # Kept for one-off nearest-neighbour lookups; matching itself is exact (see matching.py).
        op.execute(
            f"CREATE INDEX {entity}_vectors_hnsw ON {entity}_vectors "
            "USING hnsw (embedding vector_cosine_ops)"
        )

    op.execute(
        """
        CREATE TABLE matches (
            candidate_id  text NOT NULL REFERENCES candidates(id) ON DELETE CASCADE,
            job_id        text NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
            score         real NOT NULL,
            cosine        real NOT NULL,
            skill_overlap real NOT NULL,
            matched_at    timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (candidate_id, job_id)
        )
        """
    )
    op.execute("CREATE INDEX matches_by_candidate ON matches (candidate_id, score DESC)")
    op.execute("CREATE INDEX matches_by_job ON matches (job_id, score DESC)")


def downgrade() -> None:
    for table in (
        "matches", "candidate_vectors", "job_vectors", "normalized_candidates",
        "normalized_jobs", "quarantine", "candidates", "jobs",
    ):
        op.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    op.execute("DROP FUNCTION IF EXISTS touch_source_row()")
    op.execute("DROP SEQUENCE IF EXISTS source_change_seq")
