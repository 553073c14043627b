"""What a run will cost, before running it.

Prompt tokens are counted offline from the real prompts (`talentflow.costs.tokens`). The
answer is not known in advance, so completion tokens are projected from the ledger: the
calls already made with the same model (and asset, when there are any) give completion
tokens per prompt token and the share of the prompt the provider served from its cache.
Without history a configured ratio is used (`TALENTFLOW_COST_COMPLETION_RATIO`).

The expected cost uses the totals of that history (sum of completion / sum of prompt), the
best predictor of a batch's total. The range applies the 10th and 90th percentile of the
per-call behaviour to every call: a deliberately wide band (a whole run of unusually short
or long answers), not a confidence interval of the sum.
"""

from __future__ import annotations

import importlib
import os
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

import psycopg

from talentflow.costs import ledger, tokens
from talentflow.costs.prices import MILLION, Price, PriceTable
from talentflow.llm.base import Kind
from talentflow.llm.prompts import DEFAULT_MAX_INPUT_CHARS
from talentflow.partitions.assets import Asset
from talentflow.partitions.status import STATES, status
from talentflow.talent import store
from talentflow.talent.entities import ENTITIES, Entity

# What a run would process by default (the engine plans the same states).
RUN_STATES = frozenset({"missing", "stale", "failed"})

ENV_COMPLETION_RATIO = "TALENTFLOW_COST_COMPLETION_RATIO"
# A normalized profile is ~80-250 tokens of JSON for a ~1,000-1,400 token prompt (the
# vocabulary-laden system message is most of it): 0.15 errs on the expensive side.
DEFAULT_COMPLETION_RATIO = 0.15
# Without history the range is the configured ratio halved and doubled, and no cache hits.
NO_HISTORY_SPREAD = (0.5, 2.0)
LOW_Q, HIGH_Q = 0.10, 0.90


@dataclass(frozen=True)
class EstimateSettings:
    completion_ratio: float = DEFAULT_COMPLETION_RATIO
    history_limit: int = 1000
    # OpenAI bills the response_format schema as prompt tokens; a server that does not (the
    # test server, some local servers) is estimated without it.
    include_schema: bool = True
    # Where `completion_ratio` comes from, as the estimate's basis names it without history.
    ratio_source: str = ENV_COMPLETION_RATIO

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object
                 ) -> EstimateSettings:
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        raw = (env.get(ENV_COMPLETION_RATIO) or "").strip()
        if raw:
            try:
                ratio = float(raw)
            except ValueError:
                raise ValueError(f"{ENV_COMPLETION_RATIO}={raw!r} is not a number") from None
            if not 0 < ratio < 100:
                raise ValueError(f"{ENV_COMPLETION_RATIO} must be > 0 (completion tokens per "
                                 f"prompt token), not {raw}")
            values["completion_ratio"] = ratio
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass(frozen=True)
class Projection:
    """How a model's calls behave per prompt token: the expected completion ratio and cached
    fraction, and the (ratio, fraction) of each historical call for the range."""

    completion_ratio: float
    cached_fraction: float
    samples: tuple[tuple[float, float], ...]
    basis: str

    def usd_per_prompt_token(self, price: Price, ratio: float, fraction: float) -> Decimal:
        r, f = Decimal(repr(ratio)), Decimal(repr(fraction))
        return ((1 - f) * price.input_usd_per_mtok + f * price.cached_input_usd_per_mtok
                + r * price.output_usd_per_mtok) / MILLION

    def expected_usd(self, price: Price, prompt_tokens: int) -> Decimal:
        return prompt_tokens * self.usd_per_prompt_token(
            price, self.completion_ratio, self.cached_fraction)

    def range_usd(self, price: Price, prompt_tokens: int) -> tuple[Decimal, Decimal]:
        per_token = [float(self.usd_per_prompt_token(price, r, f)) for r, f in self.samples]
        low, high = _quantile(per_token, LOW_Q), _quantile(per_token, HIGH_Q)
        return (prompt_tokens * Decimal(repr(low)), prompt_tokens * Decimal(repr(high)))


def projection(conn: psycopg.Connection, model: str, asset: str | None,
               settings: EstimateSettings) -> Projection:
    """From the latest calls of `model` on `asset`, else of `model` on any asset, else the
    configured ratio."""
    scopes: list[tuple[str | None, str]] = [(asset, f"on {asset}")] if asset else []
    for scope, label in [*scopes, (None, "on any asset")]:
        rows = ledger.history(conn, model, scope, settings.history_limit)
        if rows:
            prompt = sum(p for p, _, _ in rows)
            return Projection(
                completion_ratio=sum(c for _, c, _ in rows) / prompt,
                cached_fraction=sum(min(k, p) for p, _, k in rows) / prompt,
                samples=tuple((c / p, min(k, p) / p) for p, c, k in rows),
                basis=f"history: {len(rows)} call(s) of {model} {label}",
            )
    ratio = settings.completion_ratio
    low, high = NO_HISTORY_SPREAD
    return Projection(
        completion_ratio=ratio, cached_fraction=0.0,
        samples=((ratio * low, 0.0), (ratio * high, 0.0)),
        basis=f"no history of {model}: configured ratio {ratio:g} ({settings.ratio_source}), "
              f"range x{low:g}..x{high:g}",
    )


@dataclass(frozen=True)
class ModelEstimate:
    model: str
    calls: int
    message_tokens: int
    schema_tokens: int
    completion_tokens: int
    cached_tokens: int
    expected_usd: Decimal | None  # None: the model is unpriced
    low_usd: Decimal | None
    high_usd: Decimal | None
    basis: str
    price_from: date | None

    @property
    def prompt_tokens(self) -> int:
        return self.message_tokens + self.schema_tokens

    @property
    def unpriced(self) -> bool:
        return self.expected_usd is None


@dataclass
class Estimate:
    asset: str
    selection: str
    keys: list[str]
    models: list[ModelEstimate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def format(self) -> str:
        lines = [f"estimate for {self.asset}: {len(self.keys)} key(s) ({self.selection})"]
        if not self.keys:
            return lines[0] + ": nothing to run, $0"
        for m in self.models:
            lines.append(
                f"  {m.model}: {m.calls} call(s), {m.prompt_tokens:,} prompt tokens "
                f"({m.message_tokens:,} messages + {m.schema_tokens:,} schema), "
                f"~{m.completion_tokens:,} completion, ~{m.cached_tokens:,} cached"
            )
            if m.unpriced:
                lines.append(f"    cost: UNPRICED - no price for {m.model} in the price table; "
                             "add a row to data/llm_prices.csv")
            else:
                lines.append(f"    cost: ${m.expected_usd:.6f} expected, range "
                             f"${m.low_usd:.6f} - ${m.high_usd:.6f} (prices from "
                             f"{m.price_from})")
            lines.append(f"    completion projected from {m.basis}")
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)


def entity_for(asset_name: str) -> Entity:
    """The side whose normalize step materializes `asset_name` (the only LLM step)."""
    for ent in ENTITIES.values():
        if ent.normalized_asset == asset_name:
            return ent
    llm_assets = ", ".join(e.normalized_asset for e in ENTITIES.values())
    raise ValueError(f"asset {asset_name!r} makes no LLM calls; LLM assets: {llm_assets}")


def select_keys(conn: psycopg.Connection, asset_name: str, *,
                keys: Sequence[str] | None = None, states: frozenset[str] | None = None,
                sample: int | None = None, seed: int = 0, asset: Asset | None = None
                ) -> tuple[list[str], str]:
    """The keys to estimate and a description of the selection. Candidates are the source
    table's rows (so freshly ingested rows count before a sensor registers them); by default
    the ones a run would process (missing, stale or failed). Selecting by state needs the
    asset's declaration (`asset`, from the project's Definitions)."""
    ent = entity_for(asset_name)
    universe = [r[0] for r in conn.execute(f"SELECT id FROM {ent.table} ORDER BY id")]
    if keys:
        known = set(universe)
        unknown = [k for k in keys if k not in known]
        if unknown:
            shown = ", ".join(repr(k) for k in unknown[:5])
            more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            raise ValueError(f"no {ent.kind} row for key(s) {shown}{more} in {ent.table!r}")
        return list(dict.fromkeys(keys)), "explicit keys"
    if sample is not None:
        if sample < 1:
            raise ValueError("--sample needs a positive number of keys")
        picked = random.Random(seed).sample(universe, min(sample, len(universe)))
        return sorted(picked), f"random sample of {sample} (seed {seed}) of {len(universe)}"
    wanted = states or RUN_STATES
    bad = set(wanted) - set(STATES)
    if bad:
        raise ValueError(f"unknown state(s) {sorted(bad)}; expected some of {STATES}")
    if asset is None:
        raise TypeError("selecting keys by state needs the asset's declaration (asset=)")
    chosen = [s.key for s in status(conn, asset, universe) if s.status in wanted]
    return chosen, "/".join(sorted(wanted)) + f" of {len(universe)}"


def estimate(conn: psycopg.Connection, asset_name: str, keys: Sequence[str], models: Sequence[str],
             prices: PriceTable, *, selection: str = "explicit keys",
             settings: EstimateSettings | None = None,
             max_chars: int = DEFAULT_MAX_INPUT_CHARS, on: date | None = None) -> Estimate:
    """Expected USD (with a range) per model for normalizing `keys` of `asset_name`."""
    settings = settings or EstimateSettings()
    ent = entity_for(asset_name)
    texts = {row.id: row.text for row in store.load_sources(conn, ent, keys)}
    return estimate_texts(conn, asset_name, ent.kind, texts, models, prices,
                          selection=selection, settings=settings, max_chars=max_chars, on=on)


def estimate_texts(conn: psycopg.Connection, asset_name: str, kind: Kind,
                   texts: Mapping[str, str], models: Sequence[str], prices: PriceTable, *,
                   selection: str = "explicit keys", settings: EstimateSettings | None = None,
                   max_chars: int = DEFAULT_MAX_INPUT_CHARS, on: date | None = None
                   ) -> Estimate:
    """`estimate` for texts at hand (no source table needed)."""
    settings = settings or EstimateSettings()
    on = on or datetime.now(UTC).date()
    message_tokens = sum(tokens.prompt_tokens(t, kind, max_chars) for t in texts.values())
    calls = len(texts)
    schema_tokens = tokens.schema_tokens() * calls if settings.include_schema else 0
    result = Estimate(asset_name, selection, list(texts))
    for model in models:
        result.models.append(model_estimate(conn, asset_name, model, calls, message_tokens,
                                            prices, schema_tokens=schema_tokens,
                                            settings=settings, on=on))
    if not settings.include_schema:
        result.notes.append("the response_format schema is not counted (server does not bill "
                            "it)")
    return result


def model_estimate(conn: psycopg.Connection, asset_name: str, model: str, calls: int,
                   message_tokens: int, prices: PriceTable, *, schema_tokens: int = 0,
                   settings: EstimateSettings | None = None, on: date | None = None
                   ) -> ModelEstimate:
    """The priced estimate of `calls` calls of `model` sending `message_tokens` (+ schema)
    prompt tokens in all, completion projected from the ledger's history of `asset_name`."""
    settings = settings or EstimateSettings()
    on = on or datetime.now(UTC).date()
    prompt = message_tokens + schema_tokens
    proj = projection(conn, model, asset_name, settings)
    price = prices.lookup(model, on)
    expected = low = high = None
    if price is not None:
        expected = proj.expected_usd(price, prompt)
        low, high = proj.range_usd(price, prompt)
    return ModelEstimate(
        model=model, calls=calls, message_tokens=message_tokens, schema_tokens=schema_tokens,
        completion_tokens=round(prompt * proj.completion_ratio),
        cached_tokens=round(prompt * proj.cached_fraction),
        expected_usd=expected, low_usd=low, high_usd=high, basis=proj.basis,
        price_from=price.effective_from if price else None,
    )


# --------------------------------------------------------------------------------------------
# A project's own estimate: `talentflow --definitions mypkg costs estimate`
#
# The estimate above knows the talent pipeline's one LLM step. Another project's definitions
# module may export, next to its Definitions, a `cost_estimator(conn, request) -> [Estimate]`
# (one Estimate per LLM asset); the CLI then hands it the selection it was given instead.

ESTIMATOR_ATTR = "cost_estimator"


@dataclass(frozen=True)
class EstimateRequest:
    """What `talentflow costs estimate` was asked for: an asset (None: every LLM asset),
    explicit keys, a sample or states (None: what a run would process), models to price
    instead of the configured ones, the settings and prices."""

    asset: str | None = None
    keys: tuple[str, ...] = ()
    states: frozenset[str] | None = None
    sample: int | None = None
    seed: int = 0
    models: tuple[str, ...] = ()
    settings: EstimateSettings = field(default_factory=EstimateSettings)
    prices: PriceTable = field(default_factory=lambda: PriceTable([]))


CostEstimator = Callable[[psycopg.Connection, EstimateRequest], list[Estimate]]


def find_estimator(spec: str | None = None) -> CostEstimator | None:
    """The `cost_estimator` of the definitions module (`module[:attr]`, default the configured
    definitions), or None when it exports none (the talent estimate applies)."""
    from talentflow.engine.definitions import definitions_spec

    module_name = (spec or definitions_spec()).partition(":")[0]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module_name == exc.name
                                     or module_name.startswith(exc.name + ".")):
            return None  # no such module: load_definitions will say so
        raise
    found = getattr(module, ESTIMATOR_ATTR, None)
    return found if callable(found) else None


def format_estimates(estimates: Sequence[Estimate]) -> str:
    """Each estimate, then (for several) the total of the priced ones."""
    out = [e.format() for e in estimates]
    if len(estimates) > 1:
        priced = [m for e in estimates for m in e.models if not m.unpriced]
        unpriced = sorted({m.model for e in estimates for m in e.models if m.unpriced})
        calls = sum(m.calls for e in estimates for m in e.models)
        total = sum((m.expected_usd for m in priced), Decimal(0))
        low = sum((m.low_usd for m in priced), Decimal(0))
        high = sum((m.high_usd for m in priced), Decimal(0))
        line = (f"total: {calls:,} call(s), ${total:.6f} expected, range ${low:.6f} - "
                f"${high:.6f}")
        if unpriced:
            line += f" (at least: {', '.join(unpriced)} UNPRICED)"
        out.append(line)
    return "\n".join(out)
