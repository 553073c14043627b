"""Benchmark of the generation system end to end, offline; prints one JSON object.

    .venv/bin/python bench/generation.py                  # 3 models x 4 templates x 10 combos
    .venv/bin/python bench/generation.py --models 2 --templates 2 --combos 5
    .venv/bin/python bench/generation.py --keep /tmp/gen-bench   # keep the state, then:
        TALENTFLOW_HOME=/tmp/gen-bench/state TALENTFLOW_COHORTS_DIR=/tmp/gen-bench/cohorts \\
        TALENTFLOW_GENS_DIR=/tmp/gen-bench/gens talentflow --definitions examples.generation status

A cohort written by examples.generation.cohort (n = models x templates x combos drafts, one
essay each, one evaluation each by one judge) in a temporary folder, a temporary embedded
PostgreSQL and PREFECT_HOME, the templates and combos of data/generation (copied: the edit
below must not touch the repository), offline completions.

- `generate_s`: the `generate-cohort` flow over the new cohort, as `make demo-generation`
  runs it: Prefect's ephemeral API starts inside it; registers 3n keys, writes 3n
  generations (4 files each) and 3n ledger rows, computes the scores table. Target <= 60 s.
- `flow_s`: the same run as the engine timed it (registration + generation stages).
- `noop_s`: the check a second run makes (`pending_work`: bulk status, no flow run).
- `one_template_edit_s`: one draft template edited, then the flow again: exactly the drafts
  using it (n / templates), and their essays and evaluations, run.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_S = 60.0


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _setup(home: Path) -> None:
    os.environ["TALENTFLOW_HOME"] = str(home / "state")
    os.environ["PREFECT_HOME"] = str(home / "prefect")
    os.environ["TALENTFLOW_COHORTS_DIR"] = str(home / "cohorts")
    os.environ["TALENTFLOW_GENS_DIR"] = str(home / "gens")
    os.environ["TALENTFLOW_GENERATION_DATA"] = str(home / "generation")
    for name in ("DATABASE_URL", "TALENTFLOW_COMPLETION_PROVIDER", "TALENTFLOW_DEFINITIONS"):
        os.environ.pop(name, None)
    shutil.copytree(ROOT / "data" / "generation", home / "generation", dirs_exist_ok=True)


def _ran(out: dict[str, Any]) -> dict[str, int]:
    return {a: len(r["ran"]) for a, r in out.get("assets", {}).items() if r["ran"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=3)
    parser.add_argument("--templates", type=int, default=4)
    parser.add_argument("--combos", type=int, default=10)
    parser.add_argument("--keep", type=Path, help="keep the state in this folder")
    args = parser.parse_args()

    if args.keep:
        home = args.keep.resolve()
        if home.exists():
            shutil.rmtree(home)
        home.mkdir(parents=True)
    else:
        home = Path(tempfile.mkdtemp(prefix="tf-bench-generation-"))
        # First registered, so it runs last: the embedded server stops before its folder goes.
        atexit.register(shutil.rmtree, home, True)
    _setup(home)
    from talentflow import config

    config.apply_runtime_defaults()
    out: dict[str, Any] = {"load_average_at_start": _load(), "target_s": TARGET_S}

    from examples.generation.cohort import MODELS, membership_rows
    from examples.generation.membership import write

    rows = membership_rows(models=MODELS[:args.models], templates=args.templates,
                           combos=args.combos)
    write(home / "cohorts" / "bench", rows)
    out["cohort"] = {"models": args.models, "templates": args.templates,
                     "combos": args.combos, "drafts": len(rows), "essays": len(rows),
                     "evaluations": len(rows)}

    t = time.perf_counter()
    from examples.generation.flows import ensure_schema, generate_cohort, pending_work

    out["import_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    out["schema"] = ensure_schema()
    out["migrate_s"] = round(time.perf_counter() - t, 2)

    t = time.perf_counter()
    first = generate_cohort("bench")
    out["generate_s"] = round(time.perf_counter() - t, 2)
    out["flow_s"] = first["seconds"]
    out["ran"] = _ran(first)
    out["ok"] = bool(first["ok"])
    out["load_average_after_generate"] = _load()

    t = time.perf_counter()
    todo = pending_work("bench")
    out["noop_s"] = round(time.perf_counter() - t, 2)
    out["noop_pending"] = todo

    edited_name = sorted({r["draft_template"] for r in rows})[0]
    template = home / "generation" / "templates" / "draft" / f"{edited_name}.txt"
    template.write_text(template.read_text() + "Use one sentence of dialogue.\n")
    t = time.perf_counter()
    edited = generate_cohort("bench")
    out["one_template_edit_s"] = round(time.perf_counter() - t, 2)
    out["one_template_edit_ran"] = _ran(edited)
    out["edited_template"] = edited_name
    out["ok"] = out["ok"] and bool(edited["ok"])

    from talentflow.db import connect

    with connect() as conn:
        out["llm_calls"] = conn.execute("SELECT count(*) FROM llm_calls").fetchone()[0]
    # Generation folders (links; their hidden targets are not counted twice).
    out["generations_on_disk"] = sum(1 for p in (home / "gens").glob("*/*")
                                     if not p.name.startswith(".")
                                     and (p / "parsed.json").is_file())
    out["within_target"] = out["generate_s"] <= TARGET_S
    out["load_average_at_end"] = _load()
    if args.keep:
        out["state"] = str(home)
    print(json.dumps(out, indent=2))
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
