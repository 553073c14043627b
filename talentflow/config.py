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
    """An external PostgreSQL (with pgvector) if the user named one — a saved
    `SqlAlchemyConnector` block (TALENTFLOW_DATABASE_BLOCK, talentflow/db/block.py), else
    DATABASE_URL — or None (embedded)."""
    from talentflow.db import block

    name = block.block_name()
    if name:
        return block.url_from_block(name)
    return os.environ.get("DATABASE_URL") or None


def data_dir() -> Path:
    """The shipped `data/` folder (sample rows, skills vocabulary, price table)."""
    return Path(__file__).resolve().parents[1] / "data"


def apply_runtime_defaults() -> None:
    """Environment defaults every entry point needs before prefect or transformers import:
    give the ephemeral Prefect API time to start on a cold machine (20 s was not enough here),
    send INFO run logs to the Prefect API (the UI's run pages) but print only warnings on the
    console, keep network telemetry out, never reach for a model hub. Values already set win.
    """
    for name, value in (
        ("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180"),
        ("PREFECT_LOGGING_LEVEL", "INFO"),
        ("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING"),
        ("PREFECT_SERVER_ANALYTICS_ENABLED", "false"),
        ("HF_HUB_OFFLINE", "1"),
        ("TRANSFORMERS_OFFLINE", "1"),
        ("TOKENIZERS_PARALLELISM", "false"),
    ):
        os.environ.setdefault(name, value)
