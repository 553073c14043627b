"""`talentflow costs ...`: what LLM calls cost (from the ledger) and what a run will cost."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, TypeVar

import typer

from talentflow.cli.common import connection, fail

if TYPE_CHECKING:
    from talentflow.costs.estimate import CostEstimator, EstimateRequest

T = TypeVar("T")

app = typer.Typer(
    help="LLM costs: reports from the ledger (default), estimates before a run, prices.",
    invoke_without_command=True,
)


class By(StrEnum):
    asset = "asset"
    model = "model"
    day = "day"
    run = "run"
    partition = "partition"


def _connection():
    return connection("the cost ledger is missing")



@app.callback()
def report(
    ctx: typer.Context,
    by: By = typer.Option(By.model, "--by", help="Group the ledger by this."),
    top: int = typer.Option(5, "--top", min=0,
                            help="Also list the N most expensive partitions (0: none)."),
    run: str = typer.Option(None, "--run", help="Only this flow run's calls."),
) -> None:
    """What the recorded LLM calls cost, grouped; then the most expensive partitions."""
    if ctx.invoked_subcommand is not None:
        return
    from talentflow.costs import reports

    with _connection() as conn:
        typer.echo(reports.format_table(reports.costs_by(conn, by.value, flow_run_id=run),
                                        by.value))
        if top and run is None:
            rows = reports.top_partitions(conn, top)
            if rows:
                typer.echo(f"\nmost expensive partitions (top {top}):")
                typer.echo(reports.format_table(rows, "partition"))


@app.command("estimate")
def estimate(
    asset: str = typer.Option(None, "--asset",
                              help="An LLM asset (talent: normalized_candidates, the default, "
                              "or normalized_jobs; another project: see its estimator)."),
    keys: list[str] = typer.Argument(None, metavar="[KEY]...", help="Explicit keys."),
    more_keys: list[str] = typer.Option(None, "--keys", help="Explicit keys (repeatable)."),
    missing: bool = typer.Option(False, "--missing", help="Keys never materialized."),
    stale: bool = typer.Option(False, "--stale", help="Keys whose code or input changed."),
    failed: bool = typer.Option(False, "--failed", help="Keys whose last run failed."),
    sample: int = typer.Option(None, "--sample", min=1, help="A random sample of N keys."),
    seed: int = typer.Option(0, "--seed", help="Seed of --sample (same seed, same keys)."),
    models: list[str] = typer.Option(None, "--model",
                                     help="Model(s) to price (default: the configured one)."),
    no_schema: bool = typer.Option(False, "--no-schema",
                                   help="The server does not bill the response_format schema."),
) -> None:
    """Expected USD, with a range, of normalizing a selection of keys (default: the missing,
    stale and failed ones a run would process). Prompt tokens are counted offline from the
    real prompts; completion tokens are projected from the ledger's history."""
    from talentflow.costs import estimate as est
    from talentflow.costs import prices
    from talentflow.engine.definitions import DefinitionsNotFound, load_definitions
    from talentflow.llm.settings import LLMSettings

    keys = [*(keys or ()), *(more_keys or ())]
    if sum(bool(x) for x in (keys, missing or stale or failed, sample)) > 1:
        raise fail("choose one selection: keys, --sample, or states (--missing/--stale/"
                    "--failed)")
    states = frozenset(s for s, on in (("missing", missing), ("stale", stale),
                                       ("failed", failed)) if on) or None
    # A definitions module may bring its own estimate (`cost_estimator` next to its defs).
    estimator = est.find_estimator()
    if estimator is not None:
        _project_estimate(estimator, est.EstimateRequest(
            asset=asset, keys=tuple(keys), states=states, sample=sample, seed=seed,
            models=tuple(models or ()),
            settings=_or_fail(lambda: est.EstimateSettings.from_env(
                include_schema=not no_schema)),
            prices=_or_fail(prices.load)))
        return
    asset = asset or "normalized_candidates"
    try:
        est.entity_for(asset)
        llm = LLMSettings.from_env()
        settings = est.EstimateSettings.from_env(include_schema=not no_schema)
        table = prices.load()
    except ValueError as exc:
        raise fail(str(exc)) from None
    with _connection() as conn:
        try:
            # States need the asset's declaration (its code version decides "stale");
            # explicit keys and samples do not, and skip importing the definitions.
            declared = None if (keys or sample) else load_definitions().get(asset)
            chosen, selection = est.select_keys(conn, asset, keys=keys, states=states,
                                                sample=sample, seed=seed, asset=declared)
            result = est.estimate(conn, asset, chosen, models or [llm.model], table,
                                  selection=selection, settings=settings,
                                  max_chars=llm.max_input_chars)
        except (ValueError, KeyError, DefinitionsNotFound) as exc:
            # A KeyError's str() is the repr of its message: show the message itself.
            raise fail(str(exc.args[0] if exc.args else exc)) from None
    if llm.provider == "rules" and not models:
        result.notes.append(f"the configured provider is 'rules' (offline, $0): this prices "
                            f"running {llm.model} through the openai provider instead")
    typer.echo(result.format())


def _or_fail(make: Callable[[], T]) -> T:
    try:
        return make()
    except ValueError as exc:
        raise fail(str(exc)) from None


def _project_estimate(estimator: CostEstimator, request: EstimateRequest) -> None:
    from talentflow.costs import estimate as est

    with _connection() as conn:
        try:
            estimates = estimator(conn, request)
        except (ValueError, KeyError) as exc:
            raise fail(str(exc.args[0] if exc.args else exc)) from None
    typer.echo(est.format_estimates(estimates))


@app.command("prices")
def show_prices() -> None:
    """The price table in use (USD per million tokens) and where it was read from."""
    from talentflow.costs import prices

    try:
        table = prices.load()
    except ValueError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"{table.source}:")
    typer.echo(f"  {'model':<16} {'input':>8} {'cached':>8} {'output':>8}  from")
    for p in table.rows():
        typer.echo(f"  {p.model:<16} {p.input_usd_per_mtok:>8} {p.cached_input_usd_per_mtok:>8} "
                   f"{p.output_usd_per_mtok:>8}  {p.effective_from}")


@app.command("reprice")
def reprice() -> None:
    """Price ledger rows recorded as unpriced whose model now has a row in the price table."""
    from talentflow.costs import ledger, prices

    try:
        table = prices.load()
    except ValueError as exc:
        raise fail(str(exc)) from None
    with _connection() as conn:
        count = ledger.reprice(conn, table)
        left = conn.execute("SELECT count(*) FROM llm_calls WHERE cost_usd IS NULL").fetchone()[0]
    typer.echo(f"priced {count} call(s); {left} still unpriced")
