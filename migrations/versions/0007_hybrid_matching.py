"""Hybrid matching: open profile fields, lexical vectors, raw-text chunks, explained matches.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

- `normalized_*` gain `target_title` (a CV's stated target role, e.g. a career changer's) and
  `must_have_skills` (a job's required skills).
- `*_vectors` gain the entity's lexical vector (`lexical_terms`: hashed stem ids, sorted;
  `lexical_weights`: their unit-norm weights). The dense `embedding` now fuses the profile
  with every chunk of the raw text.
- `*_text_chunks`: one pgvector row per chunk of the raw text (MiniLM reads 256 tokens; a
  CV's later chunks are no longer lost), replaced whole with their entity's vector.
- `*_matches` lists keep ids and scores and replace the cosine and overlap arrays with
  `explanations`: per entry its features (dense, lexical, skills, seniority), shared skills
  and missing must-have skills. Old lists are emptied: their scores meant something else
  (the match assets' code version changed too, so they are recomputed).
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("candidates", "jobs"):
        op.execute(f"ALTER TABLE normalized_{table} ADD COLUMN IF NOT EXISTS target_title text")
        op.execute(f"ALTER TABLE normalized_{table} ADD COLUMN IF NOT EXISTS "
                   "must_have_skills text[] NOT NULL DEFAULT '{}'")
    for entity in ("candidate", "job"):
        op.execute(f"ALTER TABLE {entity}_vectors ADD COLUMN IF NOT EXISTS "
                   "lexical_terms integer[] NOT NULL DEFAULT '{}'")
        op.execute(f"ALTER TABLE {entity}_vectors ADD COLUMN IF NOT EXISTS "
                   "lexical_weights real[] NOT NULL DEFAULT '{}'")
        op.execute(
            f"""
            CREATE TABLE IF NOT EXISTS {entity}_text_chunks (
                {entity}_id text NOT NULL
                    REFERENCES {entity}_vectors ({entity}_id) ON DELETE CASCADE,
                chunk       integer NOT NULL,
                embedding   vector(384) NOT NULL,
                PRIMARY KEY ({entity}_id, chunk)
            )
            """
        )
        op.execute(f"TRUNCATE {entity}_matches")
        op.execute(f"ALTER TABLE {entity}_matches DROP COLUMN IF EXISTS cosines")
        op.execute(f"ALTER TABLE {entity}_matches DROP COLUMN IF EXISTS skill_overlaps")
        op.execute(f"ALTER TABLE {entity}_matches ADD COLUMN IF NOT EXISTS "
                   "explanations jsonb NOT NULL DEFAULT '[]'")


def downgrade() -> None:
    for entity in ("candidate", "job"):
        op.execute(f"TRUNCATE {entity}_matches")
        op.execute(f"ALTER TABLE {entity}_matches DROP COLUMN IF EXISTS explanations")
        op.execute(f"ALTER TABLE {entity}_matches ADD COLUMN cosines real[] NOT NULL")
        op.execute(f"ALTER TABLE {entity}_matches ADD COLUMN skill_overlaps real[] NOT NULL")
        op.execute(f"DROP TABLE IF EXISTS {entity}_text_chunks")
        op.execute(f"ALTER TABLE {entity}_vectors DROP COLUMN IF EXISTS lexical_terms")
        op.execute(f"ALTER TABLE {entity}_vectors DROP COLUMN IF EXISTS lexical_weights")
    for table in ("candidates", "jobs"):
        op.execute(f"ALTER TABLE normalized_{table} DROP COLUMN IF EXISTS target_title")
        op.execute(f"ALTER TABLE normalized_{table} DROP COLUMN IF EXISTS must_have_skills")
