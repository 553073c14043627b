"""The `talentflow` command. Each command group lives in its own module of this package."""

from __future__ import annotations

import os

from talentflow import config


def _prepare_environment() -> None:
    # Prefect reads its settings at import time: point it at the project's state folder.
    os.environ.setdefault("PREFECT_HOME", str(config.state_dir() / "prefect"))
    config.apply_runtime_defaults()


def main() -> None:
    _prepare_environment()
    from talentflow.cli.app import app
    from talentflow.db.engine import DatabaseUnavailable

    try:
        app()
    except DatabaseUnavailable as exc:
        # A dead or unreachable database is an operator's problem, not a bug: one clear line.
        import sys

        print(f"talentflow: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
