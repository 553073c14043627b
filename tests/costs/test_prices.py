"""The price table: dated rows, snapshot names, unknown models, exact arithmetic."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from talentflow.costs import prices
from talentflow.costs.prices import PriceTableError

SHIPPED_MODELS = {"gpt-4o-mini", "gpt-4o", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o4-mini",
                  "rules"}


def test_the_shipped_table_prices_every_listed_model() -> None:
    table = prices.load()
    assert set(table.models()) == SHIPPED_MODELS
    today = date(2026, 11, 22)
    for model in SHIPPED_MODELS - {"rules"}:
        p = table.lookup(model, today)
        assert p is not None and p.input_usd_per_mtok > 0 and p.output_usd_per_mtok > 0
        assert p.cached_input_usd_per_mtok <= p.input_usd_per_mtok
    assert table.cost("rules-v1", today, 1000, 100) == 0  # the offline normalizer's version


def test_the_price_in_effect_on_the_call_date_applies() -> None:
    table = prices.load()
    assert table.lookup("gpt-4o", date(2024, 9, 30)).input_usd_per_mtok == Decimal("5.00")
    assert table.lookup("gpt-4o", date(2024, 10, 1)).input_usd_per_mtok == Decimal("2.50")
    assert table.lookup("gpt-4o", date(2024, 1, 1)) is None  # before its first price
    # Dated snapshots are priced as their family; other names are unknown, never $0.
    assert table.lookup("gpt-4o-2024-08-06", date(2025, 1, 1)).model == "gpt-4o"
    assert table.lookup("GPT-4o-mini", date(2025, 1, 1)).model == "gpt-4o-mini"
    assert table.lookup("gpt-4o-minimal", date(2025, 1, 1)) is None
    assert table.cost("llama3:8b", date(2025, 1, 1), 1000, 100) is None


def test_cached_tokens_are_billed_at_the_cached_rate_and_the_rest_at_input() -> None:
    p = prices.load().lookup("gpt-4o-mini", date(2025, 1, 1))
    # 600 uncached x 0.15 + 400 cached x 0.075 + 200 completion x 0.60, per million tokens
    assert p.cost(1000, 200, 400) == Decimal("0.00024")
    assert p.cost(1000, 200, 0) == Decimal("0.00027")
    assert p.cost(100, 0, 500) == p.cost(100, 0, 100)  # cached is part of prompt, never more


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "prices.csv"
    path.write_text(",".join(prices.COLUMNS) + "\n" + body, encoding="utf-8")
    return path


@pytest.mark.parametrize(("row", "message"), [
    ("m,1,2,x,2025-01-01", r":2: cached_input_usd_per_mtok 'x' is not a number"),
    ("m,1,2,-1,2025-01-01", r":2: cached_input_usd_per_mtok must be a number >= 0"),
    ("m,1,2,1,2025-13-01", r":2: effective_from '2025-13-01' is not a date"),
    ("m,1,2,1", r":2: 4 fields, expected 5"),
    ("m,1,2,1,2025-01-01\n# again\nm,3,4,1,2025-01-01", r":4: a second price for m"),
])
def test_a_malformed_table_names_the_line(tmp_path: Path, row: str, message: str) -> None:
    with pytest.raises(PriceTableError, match=message):
        prices.load(_write(tmp_path, row + "\n"))


def test_an_operator_table_replaces_the_shipped_one(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, "llama3:8b,0,0,0,2020-01-01\n")
    monkeypatch.setenv(prices.ENV_PRICES, str(path))
    assert prices.load().cost("llama3:8b", date(2025, 1, 1), 10, 10) == 0
