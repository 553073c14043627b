"""Where the generation system reads and writes files, resolved at call time (tests and
benchmarks point them at temporary folders through the environment):

- templates (`templates/<stage>/<name>.txt`) and `combos.csv`: `data/generation/`, or
  `TALENTFLOW_GENERATION_DATA`;
- cohorts (`<cohort_id>/membership.csv`): `data/cohorts/`, or `TALENTFLOW_COHORTS_DIR`;
- generations (`<stage>/<gen_id>/`): `data/gens/`, or `TALENTFLOW_GENS_DIR`.
"""

from __future__ import annotations

import os
from pathlib import Path

from talentflow import config

ENV_DATA = "TALENTFLOW_GENERATION_DATA"
ENV_COHORTS = "TALENTFLOW_COHORTS_DIR"
ENV_GENS = "TALENTFLOW_GENS_DIR"


def _dir(env: str, default: Path) -> Path:
    value = (os.environ.get(env) or "").strip()
    return Path(value).resolve() if value else default


def data_dir() -> Path:
    """Templates and combos: the inputs every generation reads."""
    return _dir(ENV_DATA, config.data_dir() / "generation")


def templates_dir(stage: str) -> Path:
    return data_dir() / "templates" / stage


def combos_file() -> Path:
    return data_dir() / "combos.csv"


def cohorts_dir() -> Path:
    return _dir(ENV_COHORTS, config.data_dir() / "cohorts")


def gens_dir() -> Path:
    return _dir(ENV_GENS, config.data_dir() / "gens")
