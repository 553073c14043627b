"""Shared fixtures: a real embedded PostgreSQL + pgvector, migrated once, one fresh database
per test (cloned from a migrated template, ~0.1 s), and Prefect pointed at a temporary home.
"""

from __future__ import annotations

import atexit
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from talentflow import config

# Before anything imports prefect: every test run gets its own Prefect home and state folder,
# whatever the environment says — a developer's exported PREFECT_HOME or PREFECT_API_URL
# must neither leak cached results into the suite nor receive the suite's runs. The e2e
# tests start their own server and pass its URL explicitly. Also give the ephemeral API time
# to start on a cold machine (see PREFECT_NOTES: 20 s is not enough).
_SESSION_HOME = Path(os.environ.get("TALENTFLOW_TEST_HOME") or "/tmp") / f"tf-tests-{os.getpid()}"
_SESSION_HOME.mkdir(parents=True, exist_ok=True)
# Removed when the run ends (a session's embedded PostgreSQL and Prefect home take 0.1-2 GB).
# Registered before anything starts the server: atexit runs last-in first-out, so the
# server's own stop handler runs first and the folder goes after it.
atexit.register(shutil.rmtree, _SESSION_HOME, True)
for _name in [n for n in os.environ if n.startswith("PREFECT_")
              and n not in ("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS",)]:
    del os.environ[_name]
for _name in ("TALENTFLOW_DEFINITIONS", "TALENTFLOW_LLM_BLOCK", "TALENTFLOW_EMBEDDER_BLOCK",
              "TALENTFLOW_API_TOKEN", "TALENTFLOW_BUDGET_RUN_USD", "TALENTFLOW_BUDGET_DAY_USD"):
    os.environ.pop(_name, None)
os.environ["PREFECT_HOME"] = str(_SESSION_HOME / "prefect")
os.environ["TALENTFLOW_HOME"] = str(_SESSION_HOME / "state")
config.apply_runtime_defaults()

TEMPLATE_DB = "tf_template"


def _admin_url(url: str, database: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """libpq URL of the `postgres` database on the test server (embedded unless DATABASE_URL)."""
    from talentflow import config
    from talentflow.db import embedded

    external = os.environ.get("TALENTFLOW_TEST_DATABASE_URL")
    if external:
        return _admin_url(external, "postgres")
    return embedded.start(config.state_dir(), database="postgres")


@pytest.fixture(scope="session")
def migrated_template(pg_server_url: str) -> str:
    """A database migrated to head, used as the template for every test database."""
    from talentflow.db import engine, migrate

    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}"')
        conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
    template_url = _admin_url(pg_server_url, TEMPLATE_DB)
    saved = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = template_url
    engine.database_url.cache_clear()
    try:
        migrate.upgrade()
    finally:
        if saved is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = saved
        engine.database_url.cache_clear()
    return template_url


def new_database(pg_server_url: str, template: str = TEMPLATE_DB) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return _admin_url(pg_server_url, name)


@pytest.fixture(autouse=True)
def isolated_result_storage(tmp_path: Path) -> Iterator[Path]:
    """Each test gets its own Prefect result storage, where the engine keeps per-partition
    cache entries: a value computed in one test is never a cache hit in another."""
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

    path = tmp_path / "prefect-results"
    with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: path}):
        yield path


@pytest.fixture
def db(
    pg_server_url: str, migrated_template: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A fresh, migrated, empty database for this test; talentflow.db points at it."""
    from talentflow.db import engine

    url = new_database(pg_server_url)
    monkeypatch.setenv("DATABASE_URL", url)
    engine.database_url.cache_clear()
    yield url
    engine.database_url.cache_clear()
    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
