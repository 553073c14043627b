"""alembic environment for every branch: the engine's own (versions/ beside this file) and an
application's (e.g. the talent project's migrations/versions), combined by talentflow.db.migrate.

It ships inside the package so that an installed library can migrate its tables. The URL comes
from talentflow.db (DATABASE_URL or the embedded server).
"""

from alembic import context
from sqlalchemy import create_engine, pool

config = context.config


def run_migrations_online() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            # Two processes migrating at once: the second waits, then finds nothing to do.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7431001)")
            context.run_migrations()


run_migrations_online()
