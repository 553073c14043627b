"""Match lists: one row per candidate (and per job) holding its exact top-K list.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

A candidate's (or job's) matches are computed together and replaced together, so they are
stored together: one row, parallel arrays ordered best first (job_ids[i] scored scores[i],
from cosines[i] and skill_overlaps[i]). Replacing a list is one row write instead of deleting
and inserting K rows, and reading one is one primary-key lookup. data_version identifies the
list (the asset's data version for that key), so staleness compares it without reading the
arrays.

They replace the former `matches` table (one row per pair, shared by both sides), which is
dropped: each side's asset now owns its table.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP TABLE IF EXISTS matches")
    for entity, other in (("candidate", "job"), ("job", "candidate")):
        op.execute(
            f"""
            CREATE TABLE {entity}_matches (
                {entity}_id    text PRIMARY KEY,
                {other}_ids    text[] NOT NULL,
                scores         real[] NOT NULL,
                cosines        real[] NOT NULL,
                skill_overlaps real[] NOT NULL,
                data_version   text NOT NULL,
                matched_at     timestamptz NOT NULL DEFAULT now()
            )
            """
        )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS job_matches")
    op.execute("DROP TABLE IF EXISTS candidate_matches")
    op.execute(
        """
        CREATE TABLE matches (
            candidate_id  text NOT NULL,
            job_id        text NOT NULL,
            score         real NOT NULL,
            cosine        real NOT NULL,
            skill_overlap real NOT NULL,
            matched_at    timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (candidate_id, job_id)
        )
        """
    )
