"""Where talentflow keeps its state, chosen in one place.

Everything environment-specific (database URL, state folder) is resolved here so the rest of
the code never reads environment variables directly.
"""

from __future__ import annotations

import os
from pathlib import Path


def state_dir() -> Path:
    """The project's state folder (embedded PostgreSQL data, Prefect results).

    `TALENTFLOW_HOME` wins; otherwise `.talentflow/` under the current directory, which is the
    repository root for `make demo` and `make test`.
    """
    path = Path(os.environ.get("TALENTFLOW_HOME") or Path.cwd() / ".talentflow")
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def database_url_override() -> str | None:
    """An external PostgreSQL (with pgvector) if the user named one, else None (embedded)."""
    return os.environ.get("DATABASE_URL") or None


def data_dir() -> Path:
    """The shipped `data/` folder (sample rows, skills vocabulary, price table)."""
    return Path(__file__).resolve().parents[1] / "data"
