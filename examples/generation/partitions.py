"""The partition sets of the generation system, and the one order of their dimensions.

A generation's key is its dimension values in this order, joined by the one multi-key codec
(`set.key(...)` / `set.values(key)`; never by hand):

| stage | set | dimensions (in order) |
|---|---|---|
| draft | `drafts` | combo, draft_template, draft_model |
| essay | `essays` | the draft's three + essay_template, essay_model |
| evaluation | `evaluations` | the essay's five + evaluation_template, evaluation_model |

Each stage's dimensions start with its parent's, in the parent's order, so the parent key is a
projection (`DimensionProjection(*PARENT_DIMS[stage])`) and never rebuilt from strings.
Keys are registered rows (a cohort chooses them), not the product of the dimensions.
"""

from __future__ import annotations

from talentflow.engine import DynamicMultiPartitions, DynamicPartitions, StaticPartitions

STAGES = ("draft", "essay", "evaluation")

DRAFT_DIMS = ("combo", "draft_template", "draft_model")
ESSAY_DIMS = (*DRAFT_DIMS, "essay_template", "essay_model")
EVALUATION_DIMS = (*ESSAY_DIMS, "evaluation_template", "evaluation_model")
DIMS = {"draft": DRAFT_DIMS, "essay": ESSAY_DIMS, "evaluation": EVALUATION_DIMS}
PARENT = {"essay": "draft", "evaluation": "essay"}
PARENT_DIMS = {stage: DIMS[parent] for stage, parent in PARENT.items()}
# The dimensions a stage adds: its template and its model.
TEMPLATE_DIM = {stage: f"{stage}_template" for stage in STAGES}
MODEL_DIM = {stage: f"{stage}_model" for stage in STAGES}

# Inputs, registered by observing data/generation (templates.py).
combos = DynamicPartitions("combos")
templates = {stage: DynamicPartitions(f"{stage}_templates") for stage in STAGES}
# Cohort ids, registered by observing data/cohorts (cohorts.py).
cohorts = DynamicPartitions("cohorts")

# Validators: every dimension value must be a storable key of its own set (no empty value, no
# NUL), checked wherever a key is built. Model names are not registered anywhere: their set
# only validates.
models = DynamicPartitions("generation_models")
_VALIDATORS = {"combo": combos, **{TEMPLATE_DIM[s]: templates[s] for s in STAGES},
               **{MODEL_DIM[s]: models for s in STAGES}}


def _multi(name: str, dims: tuple[str, ...]) -> DynamicMultiPartitions:
    return DynamicMultiPartitions(name, dims, validators={d: _VALIDATORS[d] for d in dims})


drafts = _multi("drafts", DRAFT_DIMS)
essays = _multi("essays", ESSAY_DIMS)
evaluations = _multi("evaluations", EVALUATION_DIMS)
SETS = {"draft": drafts, "essay": essays, "evaluation": evaluations}

# The aggregate over every evaluation: one partition.
scores = StaticPartitions("generation_scores", ["all"])
