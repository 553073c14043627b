"""The generation Definitions: what `talentflow --definitions examples.generation ...`, the
flows, the demo and the benchmark load.

Tables: the engine's, `generation_cohort_keys` (this package's migrations, branch
"generation") and the cost ledger `llm_calls`, which the talent branch creates (0004) — so
the talent migrations are named too, and `talentflow --definitions examples.generation db
upgrade` brings all three.
"""

from __future__ import annotations

from pathlib import Path

from examples.generation.aggregate import scores_by_template_model
from examples.generation.assets import STAGE_ASSETS
from examples.generation.cohorts import cohort, cohort_membership
from examples.generation.llm import RESOURCE as LLM
from examples.generation.run_hooks import publish_cost_artifact
from examples.generation.templates import SOURCES
from talentflow.db.migrate import PROJECT_MIGRATIONS
from talentflow.engine import Definitions

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

defs = Definitions(
    assets=[cohort_membership, cohort, *SOURCES, *STAGE_ASSETS, scores_by_template_model],
    resources={"llm": LLM},
    migrations=[PROJECT_MIGRATIONS, MIGRATIONS],
    run_hooks=[publish_cost_artifact],
    name="generation",
)
