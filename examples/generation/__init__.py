"""The draft -> essay -> evaluation generation system on the talentflow engine.

    talentflow --definitions examples.generation status
    python -m examples.generation.demo

Cohorts (data/cohorts/<id>/membership.csv) register which generations to make; drafts are
keyed by (combo, draft_template, draft_model), essays add (essay_template, essay_model),
evaluations add (evaluation_template, evaluation_model), and each stage reads its parent by a
projection of its key. Every generation is a folder of files under data/gens/<stage>/<gen_id>/,
every LLM call is in the cost ledger. See README.md in this folder.
"""

from examples.generation.definitions import defs
from examples.generation.estimate import cost_estimator

__all__ = ["cost_estimator", "defs"]
