"""`make demo-generation`: a small cohort end to end, offline, in one flow run.

    python -m examples.generation.demo                 # the checked-in cohort data/cohorts/demo
    python -m examples.generation.demo --cohort mine   # data/cohorts/mine/membership.csv

Migrates, estimates what the cohort would cost through the real models, runs the
`generate-cohort` flow (registers the cohort's keys; drafts -> essays -> evaluations -> the
scores table), then prints what ran, where the files are, the scores by template and model,
the cost ledger of the run, and the time. Run it again: nothing is stale, nothing runs. The
exit code is 1 if any generation failed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from talentflow import config


def _print_report(out: dict) -> None:
    for name, r in out.get("assets", {}).items():
        parts = [f"{len(r['ran'])} ran"]
        if r["cached"]:
            parts.append(f"{len(r['cached'])} cached")
        if r["up_to_date"]:
            parts.append(f"{r['up_to_date']} up to date")
        if r["failed"]:
            parts.append(f"{len(r['failed'])} FAILED")
        if r["blocked"]:
            parts.append(f"{len(r['blocked'])} blocked")
        print(f"  {name}: {', '.join(parts)}")
        for key, error in list(r["failed"].items())[:3]:
            print(f"    {key!r}: {error}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.generation.demo",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--cohort", default="demo", help="a folder of data/cohorts (demo)")
    args = parser.parse_args(argv)
    config.apply_runtime_defaults()
    started = time.perf_counter()

    from examples.generation import paths
    from examples.generation.aggregate import evaluated, summarize
    from examples.generation.estimate import cost_estimator
    from examples.generation.flows import ensure_schema, generate_cohort, pending_work
    from talentflow.costs import prices
    from talentflow.costs.estimate import EstimateRequest, format_estimates
    from talentflow.costs.reports import run_summary
    from talentflow.db import connect

    membership = paths.cohorts_dir() / args.cohort / "membership.csv"
    if not membership.is_file():
        print(f"no cohort {args.cohort!r}: {membership} does not exist (write one with "
              "python -m examples.generation.cohort --out ...)", file=sys.stderr)
        return 2
    print(f"database: schema at {ensure_schema()}")
    with connect() as conn:
        print(f"cost estimate of cohort {args.cohort!r} through the real models:")
        request = EstimateRequest(asset="cohort", keys=(args.cohort,), prices=prices.load())
        try:
            estimate = format_estimates(cost_estimator(conn, request))
        except ValueError as exc:  # a malformed cohort or template: the run will say which
            estimate = f"unavailable: {exc}"
        for line in estimate.splitlines():
            print(f"  {line}")
    todo = pending_work(args.cohort)
    if todo:
        print(f"running flow generate-cohort for {args.cohort!r} (offline completions) over "
              + ", ".join(f"{n} {a}" for a, n in todo.items()) + " ...")
        out = generate_cohort(args.cohort)
        _print_report(out)
    else:
        # Planned from the bulk status: no flow run needed to find out nothing changed.
        print(f"nothing to do: every generation of cohort {args.cohort!r} is up to date (no "
              "flow run, no LLM call)")
        out = {"ok": True}
    with connect() as conn:
        if out.get("flow_run_id"):
            print(run_summary(conn, out["flow_run_id"]))
        table = summarize(evaluated(conn))
    print(f"files: {paths.gens_dir()}/<stage>/<gen_id>/ (prompt.txt, raw.txt, parsed.json, "
          "metadata.json)")
    if len(table):
        print("overall scores by template and model:")
        print(table.to_string(index=False))
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0 if out.get("ok", True) else 1


if __name__ == "__main__":
    raise SystemExit(main())
