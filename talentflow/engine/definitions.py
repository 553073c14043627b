"""Definitions: the one graph object of a project — its assets, checks and resources.

    defs = Definitions(assets=[raw, clean, report], checks=[report_not_empty],
                       resources={"llm": Resource(llm_settings)})

It resolves dependencies by name, orders assets upstream first, owns name lookup and binds
resources: their settings are resolved ONCE per `bind()` and used both for the code versions
(staleness, cache keys) and for the compute of that run, so the two can never disagree.
Nothing is registered globally: the CLI, the REST API and serve load a Definitions object from
a module attribute (`load_definitions("tasks.definitions:defs")`).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from talentflow.engine.checks import AssetCheck
from talentflow.partitions.assets import AllOf, Asset, Dep
from talentflow.partitions.sets import PartitionSet

DEFINITIONS_ENV = "TALENTFLOW_DEFINITIONS"
DEFAULT_DEFINITIONS = "tasks.definitions:defs"


class DefinitionsNotFound(RuntimeError):
    """The definitions module or attribute is missing; the message says how to fix it."""


class UnknownAsset(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; this one reads as a sentence
        return str(self.args[0])


@dataclass(frozen=True)
class Resource:
    """A run-time dependency (LLM settings, a model): resolved once per run.

    `version(value)` is what of it decides outputs (provider + model, not an API key); it
    is part of the code version of every asset that uses the resource.
    """

    factory: Callable[[], Any]
    version: Callable[[Any], str] = repr
    description: str = ""


class Definitions:
    def __init__(
        self,
        assets: Sequence[Asset],
        resources: Mapping[str, Resource | Any] | None = None,
        *,
        checks: Sequence[AssetCheck] = (),
        migrations: Sequence[Path | str] = (),
        run_hooks: Sequence[Callable[[Any], None]] = (),
        name: str = "",
    ) -> None:
        self.name = name
        # The project's own alembic version folders (its tables), migrated after the engine's.
        self.migrations = [Path(p) for p in migrations]
        # Called with the RunReport at the end of every materialize run (e.g. a cost report).
        self.run_hooks = list(run_hooks)
        self.resources: dict[str, Resource] = {
            k: v if isinstance(v, Resource) else Resource(lambda v=v: v, repr)
            for k, v in (resources or {}).items()
        }
        declared: dict[str, Asset] = {}
        for a in assets:
            if not isinstance(a, Asset):
                raise TypeError(f"Definitions(assets=...) takes Asset objects, not {a!r}")
            if a.name in declared and declared[a.name] is not a:
                raise ValueError(f"two assets are named {a.name!r}")
            declared[a.name] = a
        for a in declared.values():
            for d in a.deps:
                if d.name not in declared:
                    raise ValueError(
                        f"asset {a.name!r} depends on {d.name!r}, which is not in these "
                        f"definitions (assets: {sorted(declared)})"
                    )
            unknown = [r for r in a.resources if r not in self.resources]
            if unknown:
                raise ValueError(f"asset {a.name!r} uses undeclared resources {unknown}")
        self._declared = declared
        self._order = _topological(declared)
        self._checks: dict[str, AssetCheck] = {}
        for c in checks:
            if not isinstance(c, AssetCheck):
                raise TypeError(f"Definitions(checks=...) takes asset checks, not {c!r}")
            if c.name in self._checks:
                raise ValueError(f"two checks are named {c.name!r}")
            if c.asset_name not in declared:
                raise ValueError(f"check {c.name!r} is of {c.asset_name!r}, which is not in "
                                 f"these definitions (assets: {sorted(declared)})")
            if declared[c.asset_name].source:
                raise ValueError(f"check {c.name!r}: {c.asset_name!r} is a source asset; "
                                 "checks run after an asset is computed")
            c.validate_against(declared[c.asset_name], list(self.resources))
            self._checks[c.name] = c
        self._bound: dict[str, Asset] | None = None
        self._values: dict[str, Any] | None = None

    # -- binding ------------------------------------------------------------------------------

    def bind(self) -> Definitions:
        """A copy whose resources are resolved now (once) and whose assets carry them."""
        twin = Definitions.__new__(Definitions)
        twin.__dict__.update(self.__dict__)
        twin._values = {k: r.factory() for k, r in self.resources.items()}
        versions = {k: str(r.version(twin._values[k])) for k, r in self.resources.items()}
        bound: dict[str, Asset] = {}
        for name in self._order:  # upstream first: deps resolve to bound objects
            a = self._declared[name]
            bound[name] = a.bound([d.resolve(bound[d.name]) for d in a.deps], versions)
            # Status and downstream blocking look at these checks' results (and only these:
            # a check removed from the definitions no longer blocks anything).
            bound[name].blocking_checks = tuple(
                c.name for c in self.checks_of(name) if c.blocking)
        twin._bound = bound
        return twin

    def _assets(self) -> dict[str, Asset]:
        if self._bound is None:
            bound = self.bind()
            self._bound, self._values = bound._bound, bound._values
        assert self._bound is not None
        return self._bound

    @property
    def resource_values(self) -> dict[str, Any]:
        self._assets()
        assert self._values is not None
        return self._values

    # -- lookup -------------------------------------------------------------------------------

    @property
    def assets(self) -> list[Asset]:
        """Every asset, upstream before downstream (then by name)."""
        bound = self._assets()
        return [bound[n] for n in self._order]

    @property
    def names(self) -> list[str]:
        return list(self._order)

    def get(self, name: str) -> Asset:
        try:
            return self._assets()[name]
        except KeyError:
            raise UnknownAsset(
                f"unknown asset {name!r} (known: {', '.join(self._order) or 'none'})"
            ) from None

    def find(self, name: str) -> Asset | None:
        return self._assets().get(name)

    @property
    def checks(self) -> list[AssetCheck]:
        """Every check, in the order of the assets they check (then by name)."""
        rank = {n: i for i, n in enumerate(self._order)}
        return sorted(self._checks.values(), key=lambda c: (rank[c.asset_name], c.name))

    def checks_of(self, asset: str) -> list[AssetCheck]:
        return sorted((c for c in self._checks.values() if c.asset_name == asset),
                      key=lambda c: c.name)

    def get_check(self, name: str) -> AssetCheck:
        try:
            return self._checks[name]
        except KeyError:
            raise UnknownAsset(f"unknown check {name!r} (known: "
                               f"{', '.join(sorted(self._checks)) or 'none'})") from None

    def __contains__(self, name: object) -> bool:
        return name in self._declared

    def sets(self) -> dict[str, PartitionSet]:
        """Partition sets of the assets (and of their multi dimensions), by name."""
        out: dict[str, PartitionSet] = {}
        for a in self._declared.values():
            out.setdefault(a.partitions.name, a.partitions)
            for dim in getattr(a.partitions, "dimensions", {}).values():
                out.setdefault(dim.name, dim)
        return out

    def downstream_of(self, name: str) -> list[Asset]:
        """Assets that depend on `name` directly."""
        return [a for a in self.assets if any(d.name == name for d in a.deps)]

    def select(self, names: Iterable[str] | None = None, *, upstream: bool = False,
               downstream: bool = False) -> list[Asset]:
        """Named assets (all when None) plus their upstream and/or downstream closure, in
        dependency order. Names may carry Dagster-style marks: `+x` (x and its upstream),
        `x+` (x and its downstream), or the words `x+upstream` / `x+downstream`."""
        if names is None:
            return self.assets
        chosen: set[str] = set()
        for raw in names:
            name, up, down = _parse_selector(raw)
            self.get(name)  # unknown names fail here, with the known ones listed
            chosen.add(name)
            if up or upstream:
                chosen |= self._closure(name, up=True)
            if down or downstream:
                chosen |= self._closure(name, up=False)
        return [a for a in self.assets if a.name in chosen]

    def _closure(self, name: str, *, up: bool) -> set[str]:
        seen: set[str] = set()
        stack = [name]
        while stack:
            n = stack.pop()
            nxt = [d.name for d in self._declared[n].deps] if up else \
                [a.name for a in self._declared.values() if any(d.name == n for d in a.deps)]
            for m in nxt:
                if m not in seen:
                    seen.add(m)
                    stack.append(m)
        return seen

    def all_of_dependents(self, name: str) -> list[Asset]:
        """Assets reading all of `name` (AllOf): what a change of any key of it makes stale."""
        return [a for a in self.assets
                if any(d.name == name and isinstance(d.mapping, AllOf) for d in a.deps)]

    def __repr__(self) -> str:
        return f"<Definitions {self.name or ''} assets={self._order}>"


def _parse_selector(raw: str) -> tuple[str, bool, bool]:
    name, up, down = raw.strip(), False, False
    for word, is_up in (("+upstream", True), ("+downstream", False)):
        if name.endswith(word):
            name = name[: -len(word)]
            up, down = (up or is_up), (down or not is_up)
    if name.startswith("+"):
        name, up = name[1:], True
    if name.endswith("+"):
        name, down = name[:-1], True
    return name, up, down


def _topological(assets: Mapping[str, Asset]) -> list[str]:
    ordered: list[str] = []
    seen: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in seen:
            return
        if name in path:
            raise ValueError(f"asset dependency cycle: {' -> '.join((*path, name))}")
        for d in assets[name].deps:
            visit(d.name, (*path, name))
        seen.add(name)
        ordered.append(name)

    for name in sorted(assets):
        visit(name, ())
    return ordered


def definitions_spec() -> str:
    return os.environ.get(DEFINITIONS_ENV) or DEFAULT_DEFINITIONS


def load_definitions(spec: str | None = None) -> Definitions:
    """The Definitions object at `module:attribute` (attribute default `defs`).

    `spec` defaults to $TALENTFLOW_DEFINITIONS, else the talent project's.
    """
    spec = spec or definitions_spec()
    module_name, _, attr = spec.partition(":")
    attr = attr or "defs"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module_name == exc.name
                                     or module_name.startswith(exc.name + ".")):
            raise DefinitionsNotFound(
                f"no definitions: module {module_name!r} not found. Point "
                f"{DEFINITIONS_ENV} (or --definitions) at 'module:attribute' holding a "
                "talentflow Definitions object."
            ) from None
        raise
    found = getattr(module, attr, None)
    if not isinstance(found, Definitions):
        raise DefinitionsNotFound(
            f"{module_name!r} has no Definitions object named {attr!r} "
            f"(found {type(found).__name__}); set {DEFINITIONS_ENV}=module:attribute"
        )
    return found


def dep_of(asset: Asset, name: str) -> Dep:
    for d in asset.deps:
        if d.name == name:
            return d
    raise KeyError(f"asset {asset.name!r} has no upstream {name!r}")
