"""Asset declarations and partition mappings."""

from __future__ import annotations

import pytest

from talentflow.partitions import (
    ALL,
    AllOf,
    Asset,
    Custom,
    Dep,
    DimensionProjection,
    DynamicPartitions,
    Identity,
    MultiPartitions,
    StaticPartitions,
    TimeWindowOffset,
    TimeWindowPartitions,
    asset,
    catalog,
    source_asset,
)

docs = DynamicPartitions("docs")
days = TimeWindowPartitions("days", "2026-01-01", timezone="Europe/Berlin")
hours = TimeWindowPartitions("hours", "2026-01-01", "hourly", "Europe/Berlin")
pairs = MultiPartitions({"left": docs, "right": StaticPartitions("sides", ["x", "y"])})


def test_mappings() -> None:
    assert Identity().upstream_keys("a", docs, docs) == ["a"]
    assert AllOf().upstream_keys("a", docs, docs) is ALL
    assert TimeWindowOffset(-1).upstream_keys("2026-03-30", days, days) == ["2026-03-29"]
    assert TimeWindowOffset(-1).upstream_keys("2026-01-01", days, days) == []
    assert TimeWindowOffset(1).upstream_keys("2026-03-28", days, days) == ["2026-03-29"]
    # Daily downstream over an hourly upstream: every hour of the day, 23 on the DST day.
    spring = TimeWindowOffset(0).upstream_keys("2026-03-29", days, hours)
    assert len(spring) == 23 and spring[0] == "2026-03-29T00:00+01:00"
    assert DimensionProjection("left").upstream_keys(pairs.key("d|1", "x"), pairs, docs) == [
        "d|1"]
    with pytest.raises(ValueError, match="no dimension 'middle'"):
        DimensionProjection("middle").upstream_keys("a|x", pairs, docs)
    assert Custom(lambda k: [k, k + "-meta"]).upstream_keys("a", docs, docs) == ["a", "a-meta"]


def test_decorated_function_is_an_asset_and_still_callable() -> None:
    raw = source_asset("raw_docs", docs)

    @asset(partitions=docs, deps=[raw])
    def clean_docs(key: str) -> str:
        """Clean one document."""
        return key.strip()

    assert isinstance(clean_docs, Asset) and clean_docs.name == "clean_docs"
    assert clean_docs(" a ") == "a"
    assert clean_docs.description == "Clean one document."
    assert clean_docs.upstream_keys("k") == {"raw_docs": ["k"]}
    assert len(clean_docs.code_version) == 64


def test_code_version_covers_deps_and_manual_version() -> None:
    def compute(key: str) -> str:
        return key

    base = Asset("a", docs, deps=[Dep("up")], fn=compute)
    assert Asset("a", docs, deps=[Dep("up")], fn=compute).code_version == base.code_version
    assert Asset("a", docs, deps=[Dep("up", AllOf())], fn=compute).code_version != \
        base.code_version
    assert Asset("a", docs, deps=[Dep("up")], fn=compute, version="2").code_version != \
        base.code_version


def test_catalog_orders_upstream_first_and_resolves_names() -> None:
    raw = source_asset("raw", docs)
    clean = Asset("clean", docs, deps=[Dep("raw")])
    report = Asset("report", days, deps=[Dep(clean, AllOf())])
    catalog.register(report, clean, raw)
    assert [a.name for a in catalog.all_assets()] == ["raw", "clean", "report"]
    assert clean.deps[0].upstream_set() is docs  # resolved by name through the catalog
    assert set(catalog.sets()) == {"docs", "days"}
    with pytest.raises(KeyError, match="unknown asset 'nope'"):
        catalog.get_asset("nope")


def test_bad_declarations() -> None:
    with pytest.raises(ValueError, match="twice"):
        Asset("a", docs, deps=["up", Dep("up", AllOf())])
    with pytest.raises(ValueError, match="cannot have upstream"):
        Asset("a", docs, deps=["up"], source=True)
    with pytest.raises(TypeError):
        Asset("a", "docs")  # type: ignore[arg-type]


def test_missing_definitions_module_has_a_clear_message(monkeypatch) -> None:
    monkeypatch.setenv("TALENTFLOW_DEFINITIONS", "no_such_pkg.assets")
    with pytest.raises(catalog.DefinitionsNotFound, match="TALENTFLOW_DEFINITIONS"):
        catalog.load_definitions()
