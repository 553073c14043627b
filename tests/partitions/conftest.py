"""Fixtures for the partition layer: a connection to the per-test database."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest


@pytest.fixture
def conn(db: str) -> Iterator[psycopg.Connection]:
    # Autocommit, like a CLI command or a task: every call of the API is its own transaction.
    with psycopg.connect(db, autocommit=True) as connection:
        yield connection
