"""`scores_by_template_model`: the evaluations' overall scores by template and model.

One partition (`all`) reading all of `evaluation` (AllOf: it is stale as soon as any
evaluation changes, appears or is dropped). A long DataFrame, one row per (stage, template,
model) — `stage` says which of the key's template/model pairs the row groups by: `draft` (the
draft template and model), `essay`, or `evaluation` (the judge) — with the number of
evaluations and the mean, min and max overall score. Computed over every evaluation that
currently has a value (a failed key counts only once it succeeds; a dropped key no longer
counts). Also published as the Prefect table artifact `generation-scores`.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from examples.generation.partitions import MODEL_DIM, SETS, STAGES, TEMPLATE_DIM, scores
from examples.generation.store import STORES
from talentflow.engine import AllOf, AllOfInput, Dep, asset
from talentflow.engine.context import KeyContext
from talentflow.engine.frames import DataFrameStore

ARTIFACT_KEY = "generation-scores"
COLUMNS = ["stage", "template", "model", "evaluations", "mean_score", "min_score", "max_score"]
_log = logging.getLogger(__name__)


def evaluated(conn: Any) -> dict[str, dict[str, Any]]:
    """{evaluation key: its parsed.json} of every evaluation that has a current value."""
    keys = [k for (k,) in conn.execute(
        "SELECT partition_key FROM partition_latest WHERE asset = 'evaluation' "
        "AND success_id IS NOT NULL ORDER BY partition_key").fetchall()]
    found = STORES["evaluation"].read(conn, "evaluation", keys)
    return {k: s.value["parsed.json"] for k, s in found.items()}


def summarize(parsed: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """The table from {evaluation key: parsed.json}."""
    records = []
    for key, value in parsed.items():
        dims = SETS["evaluation"].values(key)
        for stage in STAGES:
            records.append({"stage": stage, "template": dims[TEMPLATE_DIM[stage]],
                            "model": dims[MODEL_DIM[stage]],
                            "score": float(value["overall"])})
    if not records:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c.endswith("score") else
                                          "int64" if c == "evaluations" else "str")
                             for c in COLUMNS})
    frame = pd.DataFrame.from_records(records)
    out = (frame.groupby(["stage", "template", "model"], sort=False)["score"]
           .agg(evaluations="count", mean_score="mean", min_score="min", max_score="max")
           .reset_index())
    out["stage"] = pd.Categorical(out["stage"], categories=list(STAGES), ordered=True)
    out = out.sort_values(["stage", "template", "model"]).reset_index(drop=True)
    out["stage"] = out["stage"].astype(str)
    out["evaluations"] = out["evaluations"].astype("int64")
    out["mean_score"] = out["mean_score"].round(4)
    return out[COLUMNS]


def publish(table: pd.DataFrame) -> None:
    """The table as a Prefect artifact on the run's page (best effort)."""
    try:
        from prefect.artifacts import create_table_artifact

        create_table_artifact(
            table=table.to_dict("records"), key=ARTIFACT_KEY,
            description="Overall evaluation scores by template and model "
                        "(stage: which template/model of the key the row groups by)")
    except Exception as exc:  # noqa: BLE001 - the table is stored; the artifact is a view
        _log.warning("could not publish the %s artifact: %s", ARTIFACT_KEY, exc)


@asset(partitions=scores, store=DataFrameStore(), cache=False,
       deps=[Dep("evaluation", AllOf(), param="evaluations")])
def scores_by_template_model(ctx: KeyContext, evaluations: AllOfInput) -> pd.DataFrame:
    """Mean, min, max and count of overall scores by (stage, template, model)."""
    table = summarize(evaluated(ctx.conn))
    publish(table)
    return table
