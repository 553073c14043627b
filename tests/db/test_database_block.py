"""The database as a prefect-sqlalchemy block: registered, saved with its password as a
secret, and used wherever DATABASE_URL would be (the embedded test server behind it)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest
from typer.testing import CliRunner


@pytest.fixture
def cli():
    from talentflow.cli.app import app

    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def _with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    user = parts.username or "postgres"
    host = parts.netloc.split("@", 1)[-1]
    return urlunsplit((parts.scheme, f"{user}:{quote(password, safe='')}@{host}", parts.path,
                       parts.query, ""))


def test_a_saved_connector_block_is_the_database(db: str, cli, monkeypatch) -> None:
    from prefect.client.orchestration import get_client

    from talentflow.db import engine

    result = cli("blocks", "register")
    assert result.exit_code == 0, result.output
    assert "registered block type sqlalchemy-connector" in result.output
    # The embedded server trusts local connections: the password is carried, not checked.
    url = _with_password(db, "s3cr:et/x")
    result = cli("blocks", "database", "tf-test-db", "--url", url)
    assert result.exit_code == 0, result.output
    assert "s3cr" not in result.output and "use it with TALENTFLOW_DATABASE_BLOCK" in result.output
    with get_client(sync_client=True) as client:
        shown = client.read_block_document_by_name("tf-test-db", "sqlalchemy-connector",
                                                    include_secrets=False)
        stored = client.read_block_document_by_name("tf-test-db", "sqlalchemy-connector")
    assert shown.data["connection_info"]["password"] != "s3cr:et/x"  # masked when shown
    assert stored.data["connection_info"]["password"] == "s3cr:et/x"
    assert cli("blocks", "database", "tf-test-db", "--url", url).exit_code == 1  # exists

    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.setenv("TALENTFLOW_DATABASE_BLOCK", "tf-test-db")
    engine.database_url.cache_clear()
    with engine.connect() as conn:
        name = conn.execute("SELECT current_database()").fetchone()[0]
    assert name == urlsplit(db).path.lstrip("/")
    result = cli("db", "url")
    assert result.exit_code == 0 and name in result.output and "s3cr" not in result.output
    with psycopg.connect(db) as conn:  # the same database, reached through the block
        conn.execute("CREATE TABLE through_block (x int)")
    with engine.connect() as conn:
        assert conn.execute("SELECT count(*) FROM through_block").fetchone()[0] == 0


def test_a_missing_block_is_a_one_line_error(db: str, monkeypatch) -> None:
    import subprocess
    import sys

    from talentflow.db import engine

    monkeypatch.setenv("TALENTFLOW_DATABASE_BLOCK", "no-such-block")
    engine.database_url.cache_clear()
    with pytest.raises(engine.DatabaseUnavailable, match="no sqlalchemy-connector block"):
        engine.database_url()
    engine.database_url.cache_clear()
    proc = subprocess.run([str(Path(sys.executable).parent / "talentflow"), "db", "url"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "no-such-block" in proc.stderr
