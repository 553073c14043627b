"""Schema migrations through alembic (`talentflow db upgrade`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from talentflow.db.engine import DatabaseUnavailable, database_url, describe, sqlalchemy_url

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # alembic's ini interpolation treats '%' specially.
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url().replace("%", "%%"))
    return cfg


def current_revision() -> str | None:
    engine = create_engine(sqlalchemy_url())
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        raise DatabaseUnavailable(
            f"cannot connect to PostgreSQL at {describe(database_url())}: "
            f"{str(exc.orig).strip() if exc.orig else exc}"
        ) from exc
    finally:
        engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(revision: str = "head") -> tuple[str | None, str | None]:
    """Upgrade the schema; returns (revision before, revision after)."""
    before = current_revision()
    if before != head_revision() or revision != "head":
        command.upgrade(alembic_config(), revision)
    return before, current_revision()
