"""The LLM price table (`data/llm_prices.csv`) and the arithmetic of one call's cost.

Prices change: the table keeps one row per (model, date it took effect), and a call is priced
with the row in effect on its UTC date, so re-reading old calls never re-prices them at
today's rate. A model without a row has no price: `cost()` returns None, which the ledger
stores as NULL and the reports flag as "unpriced" — an unknown cost is never a silent $0.
"""

from __future__ import annotations

import csv
import os
import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from talentflow import config

ENV_PRICES = "TALENTFLOW_PRICES_CSV"
COLUMNS = ("model", "input_usd_per_mtok", "output_usd_per_mtok", "cached_input_usd_per_mtok",
           "effective_from")
MILLION = Decimal(1_000_000)

# "gpt-4o-2024-08-06" is priced as "gpt-4o", "rules-v1" as "rules": providers answer with
# dated snapshots and our own normalizer versions itself, but prices are listed per family.
_SNAPSHOT = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|v\d+)$")


class PriceTableError(ValueError):
    """The price file is malformed; the message names the file and line."""


@dataclass(frozen=True)
class Price:
    model: str
    input_usd_per_mtok: Decimal
    output_usd_per_mtok: Decimal
    cached_input_usd_per_mtok: Decimal
    effective_from: date

    def cost(self, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> Decimal:
        """USD for one call. `cached_tokens` is the part of `prompt_tokens` served from the
        prompt cache (OpenAI reports it inside prompt_tokens): billed at the cached rate, the
        rest of the prompt at the input rate, the completion at the output rate."""
        cached = min(max(cached_tokens, 0), prompt_tokens)
        return (
            (prompt_tokens - cached) * self.input_usd_per_mtok
            + cached * self.cached_input_usd_per_mtok
            + completion_tokens * self.output_usd_per_mtok
        ) / MILLION


class PriceTable:
    """Prices by model, each model's rows ordered by the date they took effect."""

    def __init__(self, prices: Iterable[Price], source: str = "<memory>") -> None:
        self.source = source
        self._by_model: dict[str, list[Price]] = {}
        for price in prices:
            self._by_model.setdefault(price.model.lower(), []).append(price)
        for rows in self._by_model.values():
            rows.sort(key=lambda p: p.effective_from)

    def __len__(self) -> int:
        return sum(len(rows) for rows in self._by_model.values())

    def models(self) -> list[str]:
        return sorted(self._by_model)

    def rows(self) -> list[Price]:
        return [p for m in self.models() for p in self._by_model[m]]

    def lookup(self, model: str, on: date) -> Price | None:
        """The price of `model` in effect on `on`, or None (unknown model, or a date before
        its first price)."""
        name = model.strip().lower()
        for candidate in (name, _SNAPSHOT.sub("", name)):
            rows = self._by_model.get(candidate)
            if rows:
                at = bisect_right([p.effective_from for p in rows], on)
                return rows[at - 1] if at else None
        return None

    def cost(self, model: str, on: date, prompt_tokens: int, completion_tokens: int,
             cached_tokens: int = 0) -> Decimal | None:
        """USD for one call of `model` on date `on`; None when the model is unpriced."""
        price = self.lookup(model, on)
        if price is None:
            return None
        return price.cost(prompt_tokens, completion_tokens, cached_tokens)


def default_path(env: Mapping[str, str] | None = None) -> Path:
    """`$TALENTFLOW_PRICES_CSV` if set (an operator's own negotiated prices), else the shipped
    data/llm_prices.csv."""
    env = os.environ if env is None else env
    override = (env.get(ENV_PRICES) or "").strip()
    return Path(override) if override else config.data_dir() / "llm_prices.csv"


def parse(lines: Iterable[str], source: str = "<memory>") -> PriceTable:
    """A table from CSV lines (header `COLUMNS`; blank lines and `#` comments are skipped)."""
    numbered = [(n, line) for n, line in enumerate(lines, 1)
                if line.strip() and not line.lstrip().startswith("#")]
    if not numbered:
        raise PriceTableError(f"{source}: no header, expected {','.join(COLUMNS)}")
    reader = csv.reader([line for _, line in numbered])
    header = [h.strip() for h in next(reader)]
    if tuple(header) != COLUMNS:
        raise PriceTableError(f"{source}:{numbered[0][0]}: header is {','.join(header)}, "
                              f"expected {','.join(COLUMNS)}")
    prices, seen = [], set()
    for (lineno, _), row in zip(numbered[1:], reader, strict=True):
        where = f"{source}:{lineno}"
        if len(row) != len(COLUMNS):
            raise PriceTableError(f"{where}: {len(row)} fields, expected {len(COLUMNS)}")
        model = row[0].strip()
        if not model:
            raise PriceTableError(f"{where}: empty model name")
        rates = []
        for name, value in zip(COLUMNS[1:4], row[1:4], strict=True):
            try:
                rate = Decimal(value.strip())
            except InvalidOperation:
                raise PriceTableError(f"{where}: {name} {value!r} is not a number") from None
            if not rate.is_finite() or rate < 0:
                raise PriceTableError(f"{where}: {name} must be a number >= 0, not {value!r}")
            rates.append(rate)
        try:
            since = date.fromisoformat(row[4].strip())
        except ValueError:
            raise PriceTableError(f"{where}: effective_from {row[4]!r} is not a date "
                                  "(YYYY-MM-DD)") from None
        if (model.lower(), since) in seen:
            raise PriceTableError(f"{where}: a second price for {model} from {since}")
        seen.add((model.lower(), since))
        prices.append(Price(model, *rates, effective_from=since))
    return PriceTable(prices, source)


def load(path: Path | str | None = None) -> PriceTable:
    """The price table from `path` (default: `default_path()`), re-read only when the file
    changes: the cost hook prices every batch and must stay fast."""
    file = Path(path) if path is not None else default_path()
    try:
        stamp = file.stat().st_mtime_ns
    except FileNotFoundError:
        raise PriceTableError(f"price table {file} does not exist (set {ENV_PRICES} or restore "
                              "data/llm_prices.csv)") from None
    return _load(str(file.resolve()), stamp)


@lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int) -> PriceTable:
    with open(path, encoding="utf-8", newline="") as f:
        return parse(f.read().splitlines(), source=path)
