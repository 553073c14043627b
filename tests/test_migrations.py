"""The schema migrates, and the source tables behave as the sensor and staleness rely on."""

import psycopg


def test_migrated_schema_has_the_talent_tables(db: str) -> None:
    with psycopg.connect(db) as conn:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        }
        assert {
            "candidates", "jobs", "quarantine", "normalized_candidates", "normalized_jobs",
            "candidate_vectors", "job_vectors", "matches",
        } <= tables
        dims = conn.execute(
            "SELECT atttypmod FROM pg_attribute WHERE attrelid = 'candidate_vectors'::regclass "
            "AND attname = 'embedding'"
        ).fetchone()[0]
        assert dims == 384


def test_content_hash_and_change_seq_track_real_edits_only(db: str) -> None:
    with psycopg.connect(db) as conn:
        conn.execute(
            "INSERT INTO candidates (id, name, cv_text) VALUES ('c-1', 'Ada', 'Python dev')"
        )
        h1, s1 = conn.execute("SELECT content_hash, change_seq FROM candidates").fetchone()
        conn.execute("UPDATE candidates SET name = 'Ada' WHERE id = 'c-1'")  # no-op edit
        h2, s2 = conn.execute("SELECT content_hash, change_seq FROM candidates").fetchone()
        assert (h2, s2) == (h1, s1)
        conn.execute("UPDATE candidates SET cv_text = 'Rust dev' WHERE id = 'c-1'")
        h3, s3 = conn.execute("SELECT content_hash, change_seq FROM candidates").fetchone()
        assert h3 != h1 and s3 > s1
