"""What generating will cost, before generating: the generation system's `cost_estimator`
(found by `talentflow --definitions examples.generation costs estimate`).

    talentflow --definitions examples.generation costs estimate --asset cohort demo
    talentflow --definitions examples.generation costs estimate            # registered keys
    talentflow --definitions examples.generation costs estimate --asset essay --sample 10

Selections: `--asset cohort ID...` reads those cohorts' membership files (nothing needs to be
registered yet) and estimates every listed generation a run would make (missing, stale or
failed); `--asset draft|essay|evaluation` one stage's registered keys (default: the ones a run
would process; or explicit keys, `--sample`, `--missing/--stale/--failed`); no `--asset`:
every stage.

Prompt tokens are counted offline from the real prompts (template + combo, or + the parent's
text when the parent exists). A parent that is not generated yet is *projected*: its prompt
tokens times its stage's completion ratio. Completion tokens are projected from the ledger's
answered calls of the same model and stage (`talentflow.costs.estimate.projection`); without
history from the lengths the templates ask for (NO_HISTORY_RATIO). Each key is priced with
its own model dimension, or with every `--model` given instead.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence

import psycopg

from examples.generation.membership import FILE_NAME, parse
from examples.generation.partitions import MODEL_DIM, PARENT, PARENT_DIMS, SETS, STAGES
from examples.generation.paths import cohorts_dir
from examples.generation.prompts import TemplateError, concepts_text, render
from examples.generation.store import STORES
from examples.generation.templates import read_combos, read_templates
from talentflow.costs.estimate import (
    DEFAULT_COMPLETION_RATIO,
    RUN_STATES,
    Estimate,
    EstimateRequest,
    EstimateSettings,
    model_estimate,
    projection,
)
from talentflow.llm.completion import CompletionSettings, count_messages, messages_for
from talentflow.partitions import registry
from talentflow.partitions.status import STATES, status

# Completion tokens per prompt token when a model has no history on a stage, from what the
# templates ask for: a ~150-word draft from a ~60-token prompt, a ~400-word essay from a
# prompt holding a ~200-token draft, a few comment lines and scores from a prompt holding a
# ~550-token essay.
NO_HISTORY_RATIO = {"draft": 3.0, "essay": 1.8, "evaluation": 0.2}
ASSETS = (*STAGES, "cohort")


class _Sizer:
    """Prompt tokens per key, projecting parents that do not exist yet."""

    def __init__(self, conn: psycopg.Connection, settings: EstimateSettings) -> None:
        self.conn, self.settings = conn, settings
        self.templates = {s: read_templates(s) for s in STAGES}
        self.combos = read_combos()
        self.projected: dict[str, int] = {}  # stage -> prompts holding a projected parent
        self._ratios: dict[tuple[str, str], float] = {}
        self._memo: dict[tuple[str, str], int] = {}

    def settings_for(self, stage: str) -> EstimateSettings:
        # An explicit TALENTFLOW_COST_COMPLETION_RATIO wins over the stage's own default.
        if self.settings.completion_ratio != DEFAULT_COMPLETION_RATIO:
            return self.settings
        return dataclasses.replace(self.settings, completion_ratio=NO_HISTORY_RATIO[stage],
                                   ratio_source=f"the {stage} templates' asked length")

    def ratio(self, stage: str, model: str) -> float:
        if (stage, model) not in self._ratios:
            self._ratios[stage, model] = projection(
                self.conn, model, stage, self.settings_for(stage)).completion_ratio
        return self._ratios[stage, model]

    def prompt_tokens(self, stage: str, key: str) -> int:
        if (stage, key) in self._memo:
            return self._memo[stage, key]
        dims = SETS[stage].values(key)
        name = dims[f"{stage}_template"]
        template = self.templates[stage].get(name)
        if template is None:
            raise ValueError(f"{stage} {key!r}: no {stage} template {name!r}")
        extra = 0
        if stage == "draft":
            if dims["combo"] not in self.combos:
                raise ValueError(f"draft {key!r}: no combo {dims['combo']!r} in combos.csv")
            filling = concepts_text(self.combos[dims["combo"]])
        else:
            parent = PARENT[stage]
            parent_key = SETS[parent].key(*(dims[d] for d in PARENT_DIMS[stage]))
            stored = STORES[parent].read_one(parent_key)
            if stored is not None:
                filling = stored.value["parsed.json"]["text"]
            else:
                filling = ""
                self.projected[stage] = self.projected.get(stage, 0) + 1
                extra = round(self.prompt_tokens(parent, parent_key)
                              * self.ratio(parent, SETS[parent].values(parent_key)[
                                  MODEL_DIM[parent]]))
        try:
            text = render(stage, name, template, filling).text
        except TemplateError as exc:
            raise ValueError(str(exc)) from None
        n = count_messages(messages_for(text)) + extra
        self._memo[stage, key] = n
        return n


def _select(conn: psycopg.Connection, stage: str, request: EstimateRequest,
            stage_asset: object) -> tuple[list[str], str]:
    universe = registry.all_keys(conn, SETS[stage].name)
    if request.keys:
        known = set(universe)
        unknown = [k for k in request.keys if k not in known]
        if unknown:
            raise ValueError(f"{len(unknown)} key(s) are not registered in "
                             f"{SETS[stage].name!r}, e.g. {unknown[0]!r}")
        return list(dict.fromkeys(request.keys)), "explicit keys"
    if request.sample is not None:
        picked = random.Random(request.seed).sample(universe, min(request.sample, len(universe)))
        return sorted(picked), (f"random sample of {request.sample} (seed {request.seed}) of "
                                f"{len(universe)}")
    wanted = request.states or RUN_STATES
    bad = set(wanted) - set(STATES)
    if bad:
        raise ValueError(f"unknown state(s) {sorted(bad)}; expected some of {STATES}")
    # Propagated: a key whose parent will be regenerated is work of this run too.
    chosen = [s.key for s in status(conn, stage_asset, universe, propagate=True)
              if s.status in wanted]
    return chosen, "/".join(sorted(wanted)) + f" of {len(universe)}"


def _cohort_keys(conn: psycopg.Connection, request: EstimateRequest, bound: object
                 ) -> dict[str, tuple[list[str], str]]:
    """Per stage, the keys the named cohorts list that a run would make."""
    if not request.keys:
        raise ValueError("--asset cohort needs cohort ids (the folders of data/cohorts)")
    combos, templates = read_combos(), {s: read_templates(s) for s in STAGES}
    listed: dict[str, dict[str, None]] = {s: {} for s in STAGES}
    for cohort_id in request.keys:
        path = cohorts_dir() / cohort_id / FILE_NAME
        if not path.is_file():
            raise ValueError(f"no cohort {cohort_id!r}: {path} does not exist")
        found = parse(cohort_id, path.read_text(encoding="utf-8"), combos=combos,
                      templates=templates)
        for s in STAGES:
            listed[s].update(dict.fromkeys(found.keys.get(s, [])))
    wanted = request.states or RUN_STATES
    label = "cohort " + ", ".join(request.keys)
    out = {}
    for s in STAGES:
        keys = list(listed[s])
        rows = (status(conn, bound.get(s), keys, propagate=True)  # type: ignore[attr-defined]
                if keys else [])
        out[s] = ([r.key for r in rows if r.status in wanted],
                  f"{label}: {'/'.join(sorted(wanted))} of {len(keys)} listed")
    return out


def cost_estimator(conn: psycopg.Connection, request: EstimateRequest) -> list[Estimate]:
    """One Estimate per stage (see the module doc)."""
    from examples.generation.definitions import defs

    if request.asset is not None and request.asset not in ASSETS:
        raise ValueError(f"asset {request.asset!r} makes no LLM calls; choose one of "
                         f"{', '.join(ASSETS)}")
    bound = defs.bind()
    if request.asset == "cohort":
        selected = _cohort_keys(conn, request, bound)
    else:
        if request.keys and request.asset is None:
            raise ValueError("explicit keys need --asset (draft, essay or evaluation)")
        stages = [request.asset] if request.asset else list(STAGES)
        selected = {s: _select(conn, s, request, bound.get(s)) for s in stages}
    sizer = _Sizer(conn, request.settings)
    out: list[Estimate] = []
    for stage, (keys, selection) in selected.items():
        out.append(_estimate(conn, sizer, stage, keys, selection, request.models,
                             request))
    if CompletionSettings.from_env().provider == "offline":
        out[-1].notes.append("the configured completion provider is 'offline' ($0): this "
                             "prices the keys' models through the openai provider instead")
    return out


def _estimate(conn: psycopg.Connection, sizer: _Sizer, stage: str, keys: Sequence[str],
              selection: str, models: Sequence[str], request: EstimateRequest) -> Estimate:
    result = Estimate(stage, selection, list(keys))
    by_model: dict[str, list[str]] = {}
    for key in keys:
        if models:
            for m in models:
                by_model.setdefault(m, []).append(key)
        else:
            by_model.setdefault(SETS[stage].values(key)[MODEL_DIM[stage]], []).append(key)
    before = sizer.projected.get(stage, 0)
    for model, model_keys in sorted(by_model.items()):
        prompt = sum(sizer.prompt_tokens(stage, k) for k in model_keys)
        result.models.append(model_estimate(
            conn, stage, model, len(model_keys), prompt, request.prices,
            settings=sizer.settings_for(stage)))
    projected = sizer.projected.get(stage, 0) - before
    if projected:
        parent = PARENT[stage]
        result.notes.append(f"{projected} {stage} prompt(s) hold a parent {parent} not "
                            "generated yet: its length is projected")
    return result
