"""Asset declarations, partition mappings, and their grouping by `Definitions`."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from talentflow.engine.definitions import (
    Definitions,
    DefinitionsNotFound,
    Resource,
    UnknownAsset,
    load_definitions,
)
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
    # Compute options have defaults: one key per call, 1000 keys per task run, cached.
    assert (clean_docs.batched, clean_docs.batch_size, clean_docs.retries, clean_docs.cache,
            clean_docs.store, clean_docs.resources) == (False, 1000, 0, True, None, ())


def test_decorator_infers_identity_deps_from_parameter_names() -> None:
    @asset(partitions=docs, deps=[Dep("ref", AllOf()), Dep("other_name", param="up")],
           resources=["llm"])
    def enrich(ctx, key, raw_docs: str, ref: dict, up: str, llm: object, *args, **kw) -> str:
        return raw_docs

    # raw_docs: inferred Identity; ref and up: declared (no second dep); ctx, key, the
    # resource and *args/**kw: filled by the engine, never deps.
    assert [(d.name, d.param_name, d.mapping.describe()) for d in enrich.deps] == [
        ("ref", "ref", "AllOf"), ("other_name", "up", "Identity"),
        ("raw_docs", "raw_docs", "Identity")]
    assert enrich.all_of == ["ref"]

    @asset(partitions=docs)
    def alone(partition_key: str, context) -> str:
        return partition_key

    assert alone.deps == []

    @asset(partitions=docs, source=True)
    def loader(ctx) -> dict:  # a source never has deps, whatever its parameters
        return {}

    assert loader.source and loader.deps == []

    # Batch-aware assets and compute options.
    @asset(partitions=docs, batch_size=50, retries=2, retry_delay_s=0, cache=False)
    def batched(ctx, clean_docs: dict) -> dict:
        return clean_docs

    assert (batched.batched, batched.batch_size, batched.retries, batched.retry_delay_s,
            batched.cache) == (True, 50, 2, 0, False)
    assert [d.name for d in batched.deps] == ["clean_docs"]


def test_code_version_covers_deps_and_manual_version() -> None:
    def compute(key: str) -> str:
        return key

    base = Asset("a", docs, deps=[Dep("up")], fn=compute)
    assert Asset("a", docs, deps=[Dep("up")], fn=compute).code_version == base.code_version
    assert Asset("a", docs, deps=[Dep("up", AllOf())], fn=compute).code_version != \
        base.code_version
    assert Asset("a", docs, deps=[Dep("up")], fn=compute, version="2").code_version != \
        base.code_version
    assert Asset("a", docs, deps=[Dep("up2")], fn=compute).code_version != base.code_version
    assert Asset("a", docs, deps=[Dep("up")], fn=compute, source=False,
                 code=["extra"]).code_version != base.code_version


def test_code_version_covers_resource_versions_bound_by_definitions() -> None:
    settings = {"model": "small"}
    llm = Resource(lambda: dict(settings), version=lambda s: s["model"])

    @asset(partitions=docs, resources=["llm"])
    def summarize(key: str, llm: dict) -> str:
        return key

    with pytest.raises(RuntimeError, match="take the asset from a Definitions object"):
        _ = summarize.code_version
    defs = Definitions(assets=[summarize], resources={"llm": llm})
    small = defs.get("summarize").code_version
    assert defs.get("summarize").resource_versions == {"llm": "small"}
    assert defs.resource_values == {"llm": {"model": "small"}}
    # Settings are resolved once per bind: a new bind sees the new model, a new code version.
    settings["model"] = "large"
    assert defs.get("summarize").code_version == small
    rebound = defs.bind()
    assert rebound.get("summarize").code_version != small
    assert rebound.get("summarize").resource_versions == {"llm": "large"}
    # A plain value as a resource: versioned by repr.
    plain = Definitions(assets=[summarize], resources={"llm": "model-x"})
    assert plain.get("summarize").resource_versions == {"llm": "'model-x'"}
    with pytest.raises(ValueError, match="undeclared resources"):
        Definitions(assets=[summarize])


def test_definitions_order_upstream_first_and_resolve_names() -> None:
    raw = source_asset("raw", docs)
    clean = Asset("clean", docs, deps=[Dep("raw")])
    report = Asset("report", days, deps=[Dep(clean, AllOf())])
    vec = Asset("vec", docs, deps=["clean"])
    # No registry: a Dep on a name knows nothing until Definitions resolve it.
    assert clean.deps[0].resolved is None and clean.deps[0].upstream_set() is None
    defs = Definitions(assets=[report, vec, clean, raw])
    assert [a.name for a in defs.assets] == ["raw", "clean", "report", "vec"]
    assert defs.names == ["raw", "clean", "report", "vec"]
    bound_clean = defs.get("clean")
    assert bound_clean.deps[0].resolved is defs.get("raw")
    assert bound_clean.deps[0].upstream_set() is docs  # resolved by name through defs
    assert defs.get("report").deps[0].resolved is bound_clean
    assert clean.deps[0].resolved is None  # the declaration itself is left untouched
    assert set(defs.sets()) == {"docs", "days"}
    assert "clean" in defs and "nope" not in defs
    assert defs.find("nope") is None
    with pytest.raises(UnknownAsset, match="unknown asset 'nope'") as err:
        defs.get("nope")
    assert isinstance(err.value, KeyError) and "known: raw, clean, report, vec" in str(err.value)
    # Selections, in dependency order.
    assert [a.name for a in defs.select(["clean+"])] == ["clean", "report", "vec"]
    assert [a.name for a in defs.select(["+clean"])] == ["raw", "clean"]
    assert [a.name for a in defs.select(["report+upstream"])] == ["raw", "clean", "report"]
    assert [a.name for a in defs.select(["vec"], upstream=True)] == ["raw", "clean", "vec"]
    assert [a.name for a in defs.select(["raw"], downstream=True)] == [
        "raw", "clean", "report", "vec"]
    assert defs.select(None) == defs.assets
    with pytest.raises(UnknownAsset, match="unknown asset 'nope'"):
        defs.select(["nope+"])
    assert [a.name for a in defs.downstream_of("clean")] == ["report", "vec"]
    assert [a.name for a in defs.all_of_dependents("clean")] == ["report"]


def test_definitions_refuse_bad_graphs() -> None:
    raw = source_asset("raw", docs)
    with pytest.raises(ValueError, match="depends on 'raw', which is not in these definitions"):
        Definitions(assets=[Asset("clean", docs, deps=["raw"])])
    with pytest.raises(ValueError, match="two assets are named 'raw'"):
        Definitions(assets=[raw, source_asset("raw", docs)])
    assert Definitions(assets=[raw, raw]).names == ["raw"]  # the same object twice is fine
    with pytest.raises(ValueError, match="cycle"):
        Definitions(assets=[Asset("a", docs, deps=["b"]), Asset("b", docs, deps=["a"])])
    with pytest.raises(TypeError, match="takes Asset objects"):
        Definitions(assets=["raw"])  # type: ignore[list-item]


def test_bad_declarations() -> None:
    with pytest.raises(ValueError, match="twice"):
        Asset("a", docs, deps=["up", Dep("up", AllOf())])
    with pytest.raises(ValueError, match="cannot have upstream"):
        Asset("a", docs, deps=["up"], source=True)
    with pytest.raises(TypeError):
        Asset("a", "docs")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty name"):
        Asset("", docs)
    with pytest.raises(ValueError, match="batch_size"):
        Asset("a", docs, batch_size=0)
    with pytest.raises(ValueError, match="retries"):
        Asset("a", docs, retries=-1)
    with pytest.raises(TypeError, match="declared without a function"):
        Asset("a", docs)("k")


def test_missing_definitions_have_a_clear_message(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TALENTFLOW_DEFINITIONS", "no_such_pkg.assets:defs")
    with pytest.raises(DefinitionsNotFound, match="TALENTFLOW_DEFINITIONS"):
        load_definitions()
    module = f"tf_defs_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(
        "from talentflow.engine import Definitions\n"
        "from talentflow.partitions import DynamicPartitions, source_asset\n"
        "raw = source_asset('raw', DynamicPartitions('docs'))\n"
        "defs = Definitions(assets=[raw])\n"
        "not_defs = 42\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("TALENTFLOW_DEFINITIONS", f"{module}:defs")
    assert load_definitions().names == ["raw"]
    assert load_definitions(module).names == ["raw"]  # the attribute defaults to `defs`
    with pytest.raises(DefinitionsNotFound, match="no Definitions object named 'not_defs'"):
        load_definitions(f"{module}:not_defs")


def test_a_projection_on_several_dimensions_reads_the_parent_key() -> None:
    from talentflow.partitions import DynamicMultiPartitions

    drafts = DynamicMultiPartitions("p_drafts", ["combo", "template", "model"])
    essays = DynamicMultiPartitions("p_essays", ["combo", "template", "model", "essay_template"])
    parent = DimensionProjection("combo", "template", "model")
    child = essays.key("c|1", "t", "m", "e")
    assert parent.upstream_keys(child, essays, drafts) == [drafts.key("c|1", "t", "m")]
    assert parent.single and DimensionProjection("combo").single
    assert parent.describe() == "DimensionProjection('combo', 'template', 'model')"
    with pytest.raises(ValueError, match="has no dimension 'model'"):
        DimensionProjection("combo", "model").upstream_keys("a|b", DynamicMultiPartitions(
            "p_two", ["combo", "template"]), drafts)
