"""The schema migrates, and the source tables behave as the sensor and staleness rely on."""

import psycopg
import pytest

from talentflow.db import migrate


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
            "candidate_vectors", "job_vectors",
        } <= tables
        assert {
            "candidate_matches", "job_matches", "sensor_cursors", "llm_calls",
            "partition_keys", "partition_assets", "materializations", "materialization_inputs",
            "partition_latest", "partition_claims", "asset_values", "automation_state",
        } <= tables
        versions = {r[0] for r in conn.execute("SELECT version_num FROM alembic_version")}
        from talentflow.db import migrate

        assert versions == set(migrate.head_revision().split("+"))
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


def test_match_lists_hold_one_row_per_entity_with_explained_entries(db: str) -> None:
    with psycopg.connect(db) as conn:
        conn.execute(
            "INSERT INTO candidate_matches "
            "(candidate_id, job_ids, scores, explanations, data_version) "
            "VALUES ('c-1', ARRAY['j-2', 'j-1'], ARRAY[0.9, 0.5]::real[], "
            "'[{\"id\": \"j-2\"}, {\"id\": \"j-1\"}]', 'v1')"
        )
        row = conn.execute(
            "SELECT job_ids, scores, explanations->1->>'id', matched_at IS NOT NULL "
            "FROM candidate_matches"
        ).fetchone()
        assert row == (["j-2", "j-1"], [0.9, 0.5], "j-1", True)
        with pytest.raises(psycopg.errors.NotNullViolation):
            conn.execute(
                "INSERT INTO job_matches (job_id, candidate_ids, data_version) "
                "VALUES ('j-1', '{}', 'v1')"
            )


def test_chunks_go_with_their_vector(db: str) -> None:
    with psycopg.connect(db) as conn:
        conn.execute("INSERT INTO candidates (id, name, cv_text) VALUES ('c-1', 'Ada', 'x')")
        conn.execute("INSERT INTO candidate_vectors (candidate_id, embedding, model, "
                     "data_version) VALUES ('c-1', %s, 'm', 'v')", [str([0.0] * 384)])
        conn.execute("INSERT INTO candidate_text_chunks (candidate_id, chunk, embedding) "
                     "VALUES ('c-1', 0, %s), ('c-1', 1, %s)", [str([0.0] * 384)] * 2)
        conn.execute("DELETE FROM candidate_vectors")
        assert conn.execute("SELECT count(*) FROM candidate_text_chunks").fetchone()[0] == 0


def test_the_partition_tables_come_from_the_engine_branch() -> None:
    assert not (migrate.PROJECT_MIGRATIONS / "0002_partitions.py").exists()
    assert not (migrate.PROJECT_MIGRATIONS.parent / "env.py").exists()
    assert (migrate.ALEMBIC_DIR / "env.py").is_file()
    assert (migrate.ALEMBIC_DIR / "script.py.mako").is_file()
    assert migrate.head_revision([]).startswith("e")  # the engine branch alone
    assert migrate.head_revision([]) in migrate.head_revision().split("+")
