"""Database access: one engine (PostgreSQL + pgvector), embedded by default."""

from talentflow.db.engine import connect, database_url, sqlalchemy_url

__all__ = ["connect", "database_url", "sqlalchemy_url"]
