"""Schema migrations through alembic (`talentflow db upgrade`), in two branches.

The engine's own tables (partitions, materializations, claims, the value store) are the
"engine" branch, shipped inside the package (talentflow/db/alembic/versions) so that an
installed library can migrate them in a project that has none of the talent application's
tables. An application's tables are a branch of their own in its directories (the talent
project's is `migrations/versions`, branch "talent"). Both share the package's env.py and one
alembic_version table, which then holds one row per branch head; a revision is named by those
heads, sorted and joined with "+" (e.g. "0005+e0001").
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from talentflow.db.engine import DatabaseUnavailable, database_url, describe, sqlalchemy_url

ALEMBIC_DIR = Path(__file__).resolve().parent / "alembic"
ENGINE_VERSIONS = ALEMBIC_DIR / "versions"
# The talent application's branch; absent where talentflow is installed as a library.
PROJECT_MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"

# Revisions of the former single chain that no longer exist: 0002 created the partition tables,
# which e0001 now creates (IF NOT EXISTS); a database stamped 0002 is at 0001 of the talent
# branch, and e0001 adopts its partition tables.
_RETIRED = {"0002": "0001"}


class UnknownRevision(RuntimeError):
    """The database is at a revision none of the migration locations define."""


def version_locations(locations: Sequence[Path] | None = None) -> list[Path]:
    """The engine's versions directory, then the application's (None: the talent project's
    `migrations/versions` where it exists; []: none, the engine alone)."""
    if locations is None:
        extra = [PROJECT_MIGRATIONS] if PROJECT_MIGRATIONS.is_dir() else []
    else:
        extra = [Path(p).resolve() for p in locations]
        missing = [str(p) for p in extra if not p.is_dir()]
        if missing:
            raise FileNotFoundError(f"migration locations not found: {', '.join(missing)}")
    dirs = [ENGINE_VERSIONS]
    for path in extra:
        if path not in dirs:
            dirs.append(path)
    return dirs


def _scripts_config(locations: Sequence[Path] | None) -> Config:
    # The scripts alone (no database URL): reading heads must not start the embedded server.
    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR).replace("%", "%%"))
    # Several directories in one option: split on os.pathsep. `path_separator` is read by
    # alembic >= 1.16, `version_path_separator` by older releases (which ignore the former).
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_path_separator", "os")
    # alembic's ini interpolation treats '%' specially.
    cfg.set_main_option(
        "version_locations",
        os.pathsep.join(str(p) for p in version_locations(locations)).replace("%", "%%"),
    )
    return cfg


def alembic_config(locations: Sequence[Path] | None = None) -> Config:
    """alembic's configuration: the package's env.py, the engine's versions plus `locations`
    (as in version_locations), and the project database."""
    cfg = _scripts_config(locations)
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url().replace("%", "%%"))
    return cfg


def _joined(heads: Sequence[str]) -> str:
    return "+".join(sorted(heads))


def _unreachable(exc: OperationalError) -> DatabaseUnavailable:
    return DatabaseUnavailable(
        f"cannot connect to PostgreSQL at {describe(database_url())}: "
        f"{str(exc.orig).strip() if exc.orig else exc}"
    )


def current_heads() -> tuple[str, ...]:
    """The revisions the database is at (one per branch), sorted; () if never migrated."""
    engine = create_engine(sqlalchemy_url())
    try:
        with engine.connect() as conn:
            return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))
    except OperationalError as exc:
        raise _unreachable(exc) from exc
    finally:
        engine.dispose()


def current_revision() -> str | None:
    """The database's heads joined with "+" (e.g. "0005+e0001"); None if never migrated."""
    return _joined(current_heads()) or None


def head_revision(locations: Sequence[Path] | None = None) -> str | None:
    """The heads of the migration scripts (same form as current_revision); None if none."""
    return _joined(ScriptDirectory.from_config(_scripts_config(locations)).get_heads()) or None


def _forget_retired_revisions() -> None:
    engine = create_engine(sqlalchemy_url())
    try:
        with engine.begin() as conn:
            for old, new in _RETIRED.items():
                conn.execute(
                    text("UPDATE alembic_version SET version_num = :new WHERE version_num = :old"),
                    {"new": new, "old": old},
                )
    except OperationalError as exc:
        raise _unreachable(exc) from exc
    finally:
        engine.dispose()


def upgrade(locations: Sequence[Path] | None = None) -> tuple[str, str]:
    """Upgrade every branch to its head: the engine's and those in `locations` (None: the
    talent project's `migrations/versions`; []: the engine alone).

    Returns (revision before, revision after), each the sorted heads joined with "+" ("" for
    a database never migrated). UnknownRevision if the database is at a revision that none
    of the locations define (e.g. upgrading the engine alone where the talent branch ran).
    """
    cfg = alembic_config(locations)
    script = ScriptDirectory.from_config(cfg)
    before = current_heads()
    heads = {_RETIRED.get(rev, rev) for rev in before}
    unknown = sorted(heads - {rev.revision for rev in script.walk_revisions()})
    if unknown:
        where = ", ".join(str(p) for p in version_locations(locations))
        raise UnknownRevision(
            f"the database is at revision {', '.join(unknown)}, which none of the migration "
            f"locations define ({where}); upgrade with the locations of the project that "
            "created it"
        )
    if heads != set(before):
        _forget_retired_revisions()
    if heads != set(script.get_heads()):
        command.upgrade(cfg, "heads")
    return _joined(before), _joined(current_heads())
