"""The generation Definitions: what `talentflow --definitions examples.generation ...`, the
flows, the demo and the benchmark load.

Tables: the engine's, the cost ledger `llm_calls` — which the talent branch creates (0004), so
the talent migrations are named here and `talentflow --definitions examples.generation db
upgrade` brings both — and `generation_cohort_keys`, created on first use (cohorts.py says
why it is not an alembic branch of its own).
"""

from __future__ import annotations

from examples.generation.aggregate import scores_by_template_model
from examples.generation.assets import STAGE_ASSETS
from examples.generation.cohorts import cohort, cohort_membership
from examples.generation.llm import RESOURCE as LLM
from examples.generation.run_hooks import publish_cost_artifact
from examples.generation.templates import SOURCES
from talentflow.db.migrate import PROJECT_MIGRATIONS
from talentflow.engine import Definitions

defs = Definitions(
    assets=[cohort_membership, cohort, *SOURCES, *STAGE_ASSETS, scores_by_template_model],
    resources={"llm": LLM},
    migrations=[PROJECT_MIGRATIONS],
    run_hooks=[publish_cost_artifact],
    name="generation",
)
