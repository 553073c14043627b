"""Definitions: one graph object — resolution, order, selection, resources bound once."""

from __future__ import annotations

import pytest

from talentflow.engine import AllOf, Definitions, Dep, Resource, UnknownAsset, asset
from talentflow.engine.definitions import DefinitionsNotFound, load_definitions
from talentflow.partitions import DynamicPartitions, StaticPartitions

KEYS = DynamicPartitions("things")


def _chain() -> Definitions:
    @asset(partitions=KEYS, source=True)
    def a(ctx):
        return {}

    @asset(partitions=KEYS)
    def b(a: str) -> str:
        return a

    @asset(partitions=StaticPartitions("one", ["all"]), deps=[Dep("b", AllOf())])
    def c(key: str) -> int:
        return 1

    return Definitions(assets=[c, b, a])


def test_order_lookup_and_closures() -> None:
    defs = _chain()
    assert defs.names == ["a", "b", "c"]
    assert defs.get("c").deps[0].resolved is defs.get("b")  # names resolved to objects
    assert [x.name for x in defs.select(["c"], upstream=True)] == ["a", "b", "c"]
    assert [x.name for x in defs.select(["+b"])] == ["a", "b"]
    assert [x.name for x in defs.select(["b+"])] == ["b", "c"]
    assert [x.name for x in defs.select(["b+downstream"])] == ["b", "c"]
    with pytest.raises(UnknownAsset, match="unknown asset 'zz' \\(known: a, b, c\\)"):
        defs.get("zz")
    assert set(defs.sets()) == {"things", "one"}


def test_bad_graphs_fail_when_declared() -> None:
    @asset(partitions=KEYS)
    def x(y: str) -> str:
        return y

    with pytest.raises(ValueError, match="depends on 'y', which is not in these definitions"):
        Definitions(assets=[x])

    @asset(partitions=KEYS)
    def y(x: str) -> str:
        return x

    with pytest.raises(ValueError, match="cycle"):
        Definitions(assets=[x, y])
    with pytest.raises(ValueError, match="undeclared resources"):
        Definitions(assets=[asset(partitions=KEYS, resources=("llm",))(lambda llm: 1)])


def test_resources_are_resolved_once_per_bind_and_version_the_code() -> None:
    settings = {"model": "m1"}
    made: list[str] = []

    def factory() -> dict:
        made.append(settings["model"])
        return dict(settings)

    @asset(partitions=KEYS, resources=("llm",))
    def n(key: str, llm: dict) -> str:
        return llm["model"]

    defs = Definitions(assets=[n], resources={"llm": Resource(factory, lambda s: s["model"])})
    with pytest.raises(RuntimeError, match="take the asset from a Definitions"):
        n.code_version  # noqa: B018 - the undeclared-settings mistake fails loudly
    run1 = defs.bind()
    v1 = run1.get("n").code_version
    settings["model"] = "m2"
    assert run1.get("n").code_version == v1  # the run keeps what it resolved
    assert run1.resource_values["llm"] == {"model": "m1"}
    run2 = defs.bind()
    assert run2.get("n").code_version != v1 and made == ["m1", "m2"]


def test_load_definitions_names_the_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DefinitionsNotFound, match="module 'no_such_module_here' not found"):
        load_definitions("no_such_module_here:defs")
    with pytest.raises(DefinitionsNotFound, match="no Definitions object named 'nope'"):
        load_definitions("tests.engine.chain:nope")
    assert load_definitions("tests.engine.chain").names == ["raw", "clean", "report"]
