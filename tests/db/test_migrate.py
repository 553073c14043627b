"""Two alembic branches: the engine's tables migrate alone (a project without the talent
tables), the talent branch adds its own, re-running is a no-op, and a database migrated by the
former single chain (0001-0004, with the partition tables in 0002) is adopted by e0001.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from typer.testing import CliRunner

from talentflow.db import engine, migrate
from tests.conftest import _admin_url

ENGINE_HEAD = migrate.head_revision(locations=[])  # e.g. e0002
FULL_HEAD = migrate.head_revision()  # e.g. 0005+e0002
TALENT_HEAD = next(h for h in FULL_HEAD.split("+") if h != ENGINE_HEAD)

ENGINE_TABLES = {
    "partition_keys", "partition_assets", "materializations", "materialization_inputs",
    "partition_latest", "partition_claims", "asset_values", "automation_state",
    "check_results", "check_latest",
}
TALENT_TABLES = {
    "candidates", "jobs", "quarantine", "normalized_candidates", "normalized_jobs",
    "candidate_vectors", "job_vectors", "sensor_cursors", "llm_calls",
    "candidate_matches", "job_matches", "candidate_text_chunks", "job_text_chunks",
}


@pytest.fixture
def empty_db(pg_server_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A new database with no tables at all; talentflow.db points at it."""
    name = f"e_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _admin_url(pg_server_url, name)
    monkeypatch.setenv("DATABASE_URL", url)
    engine.database_url.cache_clear()
    yield url
    engine.database_url.cache_clear()
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {r[0] for r in rows} - {"alembic_version"}


def _columns(url: str, table: str) -> list[tuple[str, str, str | None, str | None]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod), "
            "(SELECT collname FROM pg_collation WHERE oid = attcollation), "
            "pg_get_expr(adbin, adrelid) "
            "FROM pg_attribute LEFT JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            (table,),
        ).fetchall()


def test_the_engine_migrates_alone_then_the_talent_branch_joins(empty_db: str) -> None:
    assert migrate.upgrade(locations=[]) == ("", ENGINE_HEAD)
    assert _tables(empty_db) == ENGINE_TABLES  # and none of the talent tables

    assert migrate.upgrade() == (ENGINE_HEAD, FULL_HEAD)
    assert _tables(empty_db) == ENGINE_TABLES | TALENT_TABLES
    assert migrate.current_revision() == migrate.head_revision() == FULL_HEAD


def test_upgrading_twice_is_a_no_op_that_reports_the_same_revision(empty_db: str) -> None:
    assert migrate.upgrade(locations=[]) == ("", ENGINE_HEAD)
    assert migrate.upgrade(locations=[]) == (ENGINE_HEAD, ENGINE_HEAD)
    migrate.upgrade()
    assert migrate.upgrade() == (FULL_HEAD, FULL_HEAD)
    assert migrate.upgrade([migrate.PROJECT_MIGRATIONS]) == (FULL_HEAD, FULL_HEAD)


def test_the_engine_alone_refuses_a_database_at_an_unknown_revision(db: str) -> None:
    with pytest.raises(migrate.UnknownRevision, match=f"revision {TALENT_HEAD}, which none of"):
        migrate.upgrade(locations=[])
    with pytest.raises(FileNotFoundError, match="no-such-dir"):
        migrate.upgrade(locations=[migrate.PROJECT_MIGRATIONS / "no-such-dir"])


def test_e0001_is_idempotent_over_existing_tables(db: str, empty_db: str) -> None:
    # The fully migrated database forgets e0001: running it again over its tables is harmless.
    with psycopg.connect(db) as conn:
        conn.execute("INSERT INTO partition_keys (set_name, key) VALUES ('s', 'k')")
        conn.execute("DELETE FROM alembic_version WHERE version_num = %s", (ENGINE_HEAD,))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATABASE_URL", db)
        engine.database_url.cache_clear()
        assert migrate.upgrade() == (TALENT_HEAD, FULL_HEAD)
    engine.database_url.cache_clear()
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT key FROM partition_keys").fetchall() == [("k",)]

    # The same with the engine alone.
    migrate.upgrade(locations=[])
    with psycopg.connect(empty_db) as conn:
        conn.execute("DELETE FROM alembic_version")
    assert migrate.upgrade(locations=[]) == ("", ENGINE_HEAD)
    assert _tables(empty_db) == ENGINE_TABLES


def _as_the_old_chain_left_it(url: str, revision: str) -> None:
    """Turn a fully migrated database into what the former single chain left at `revision`."""
    with psycopg.connect(url) as conn:
        conn.execute("DROP TABLE partition_claims, asset_values, candidate_matches, job_matches")
        # The pair table the old chain had (0005 replaces it with one list per entity).
        conn.execute("CREATE TABLE matches (candidate_id text, job_id text, score real, "
                     "PRIMARY KEY (candidate_id, job_id))")
        conn.execute("ALTER TABLE partition_assets DROP COLUMN change_seq")
        if revision == "0002":
            conn.execute("DROP TABLE sensor_cursors, llm_calls")
            conn.execute("DROP FUNCTION notify_source_rows() CASCADE")  # and its triggers
        conn.execute("INSERT INTO partition_assets (asset, set_name) VALUES ('a', 's')")
        conn.execute("DELETE FROM alembic_version")
        conn.execute("INSERT INTO alembic_version VALUES (%s)", (revision,))


@pytest.mark.parametrize("revision", ["0004", "0002"])
def test_a_database_of_the_old_chain_is_adopted(db: str, revision: str) -> None:
    expected = {t: _columns(db, t) for t in sorted(ENGINE_TABLES | TALENT_TABLES)}
    _as_the_old_chain_left_it(db, revision)

    assert migrate.upgrade() == (revision, FULL_HEAD)
    assert {t: _columns(db, t) for t in expected} == expected
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT asset, change_seq FROM partition_assets").fetchall() == [
            ("a", 0)
        ]
        triggers = conn.execute(
            "SELECT tgname FROM pg_trigger WHERE tgname LIKE '%_notify' ORDER BY 1"
        ).fetchall()
        assert triggers == [("candidates_notify",), ("jobs_notify",)]


def test_the_cli_upgrades_the_engine_alone_or_both(empty_db: str) -> None:
    from talentflow.cli.db import app

    runner = CliRunner()
    done = runner.invoke(app, ["upgrade", "--engine-only"])
    assert done.exit_code == 0, done.output
    assert f"schema upgraded empty -> {ENGINE_HEAD}" in done.output
    assert "talent application" in runner.invoke(app, ["upgrade", "--help"]).output

    done = runner.invoke(app, ["upgrade"])
    assert done.exit_code == 0, done.output
    assert f"schema upgraded {ENGINE_HEAD} -> {FULL_HEAD}" in done.output
    assert f"schema already at {FULL_HEAD}" in runner.invoke(app, ["upgrade"]).output

    done = runner.invoke(app, ["upgrade", "--engine-only"])
    assert done.exit_code == 1
    assert f"revision {TALENT_HEAD}, which none of" in done.output
