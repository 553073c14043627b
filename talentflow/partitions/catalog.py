"""The application's declared assets, by name: what the CLI and planners look assets up in.

The partition layer does not know the application's assets; the application registers them
(`register(asset)`) in a definitions module. The CLI imports that module first
(`load_definitions()`): `$TALENTFLOW_DEFINITIONS`, default `tasks.assets`.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

from talentflow.partitions.assets import Asset
from talentflow.partitions.sets import PartitionSet

DEFAULT_DEFINITIONS = "tasks.assets"
_ASSETS: dict[str, Asset] = {}


class DefinitionsNotFound(RuntimeError):
    """The definitions module is missing; the message says which and how to point elsewhere."""


def register(*assets: Asset) -> Asset:
    """Register assets (idempotent for the same object); returns the last one, so it can
    decorate: `normalized = register(Asset(...))`."""
    if not assets:
        raise TypeError("register() needs at least one asset")
    for a in assets:
        if not isinstance(a, Asset):
            raise TypeError(f"register() takes Asset objects, not {a!r}")
        # Re-importing a definitions module builds new objects with the same names: the
        # newest declaration wins, as it is the code that will run.
        _ASSETS[a.name] = a
    return assets[-1]


def find_asset(name: str) -> Asset | None:
    return _ASSETS.get(name)


def get_asset(name: str) -> Asset:
    try:
        return _ASSETS[name]
    except KeyError:
        known = ", ".join(sorted(_ASSETS)) or "none registered"
        raise KeyError(f"unknown asset {name!r} (known: {known})") from None


def all_assets() -> list[Asset]:
    """Registered assets, upstream before downstream (then by name)."""
    ordered: list[Asset] = []
    seen: set[str] = set()

    def visit(a: Asset, path: tuple[str, ...]) -> None:
        if a.name in seen:
            return
        if a.name in path:
            raise ValueError(f"asset dependency cycle: {' -> '.join((*path, a.name))}")
        for d in a.deps:
            up = _ASSETS.get(d.name)
            if up is not None:
                visit(up, (*path, a.name))
        seen.add(a.name)
        ordered.append(a)

    for name in sorted(_ASSETS):
        visit(_ASSETS[name], ())
    return ordered


def sets() -> dict[str, PartitionSet]:
    """The partition sets of the registered assets (and of their multi dimensions), by name."""
    out: dict[str, PartitionSet] = {}
    for a in _ASSETS.values():
        out.setdefault(a.partitions.name, a.partitions)
        for dim in getattr(a.partitions, "dimensions", {}).values():
            out.setdefault(dim.name, dim)
    return out


def clear() -> None:
    """Forget every registration (tests)."""
    _ASSETS.clear()


def definitions_module() -> str:
    return os.environ.get("TALENTFLOW_DEFINITIONS") or DEFAULT_DEFINITIONS


def load_definitions(module: str | None = None) -> ModuleType:
    """Import the application's definitions module, which registers its assets.

    Raises DefinitionsNotFound (with the module name and how to choose another) if the
    module itself does not exist; an import error *inside* it propagates unchanged.
    """
    name = module or definitions_module()
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            raise DefinitionsNotFound(
                f"no asset definitions: module {name!r} not found. Create it (it should "
                "register assets with talentflow.partitions.catalog.register) or set "
                "TALENTFLOW_DEFINITIONS to the module that does."
            ) from None
        raise
