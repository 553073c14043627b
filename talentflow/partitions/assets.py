"""Asset declarations: what is computed per partition, from which upstream partitions.

    raw = source_asset("raw_docs", docs)                     # rows observed, not computed

    @asset(partitions=docs, deps=[Dep(raw)])                 # Identity by default
    def clean_docs(key: str) -> dict: ...

    report = Asset("daily_report", days, deps=[Dep(clean_docs, AllOf())], code=[build_report])

A declaration is plain data: it touches no database and no Prefect API, so flows, tasks, the
CLI and tests can all import it. Mappings say which upstream keys one downstream key reads;
what was actually read is recorded per materialization (`materializations.py`), so staleness
never re-derives it and works for any mapping, including `Custom` ones.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import cached_property
from typing import Any

from talentflow.partitions import versions
from talentflow.partitions.sets import MultiPartitions, PartitionSet, TimeWindowPartitions


class AllKeys:
    """The upstream key of an `AllOf` input: every key of the upstream asset.

    A sentinel object, not the string '*', so that a real key spelled '*' stays a key.
    """

    _instance: AllKeys | None = None

    def __new__(cls) -> AllKeys:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ALL"

    def __str__(self) -> str:
        return "*"

    def __reduce__(self) -> str:
        return "ALL"


ALL = AllKeys()
UpstreamKeys = list[str] | AllKeys


# --------------------------------------------------------------------------------------------
# Partition mappings


class PartitionMapping(ABC):
    """Which keys of an upstream asset one key of the downstream asset reads."""

    @abstractmethod
    def upstream_keys(
        self, key: str, downstream: PartitionSet, upstream: PartitionSet | None
    ) -> UpstreamKeys: ...

    def describe(self) -> str:
        """Stable text for the code version: changing a mapping changes what an asset reads."""
        return type(self).__name__

    def __repr__(self) -> str:
        return self.describe()


class Identity(PartitionMapping):
    """Key k reads upstream key k (same set, or sets sharing keys)."""

    def upstream_keys(self, key: str, downstream: PartitionSet, upstream: PartitionSet | None
                      ) -> UpstreamKeys:
        return [key]


class AllOf(PartitionMapping):
    """Every key reads all of the upstream asset (a cross-join, a global model).

    Recorded as ONE input whose version is the upstream's change watermark, not one row per
    upstream key: any upstream key changing (or disappearing) makes every dependent stale
    in O(1) per dependent, even with 100k upstream keys.
    """

    def upstream_keys(self, key: str, downstream: PartitionSet, upstream: PartitionSet | None
                      ) -> UpstreamKeys:
        return ALL


class TimeWindowOffset(PartitionMapping):
    """Window w reads the window `n` windows away (n=-1: the previous one; 0: the same).

    If the upstream set has other windows (hourly upstream, daily downstream), the key reads
    every upstream window overlapping the shifted downstream window.
    """

    def __init__(self, n: int = 0) -> None:
        self.n = int(n)

    def describe(self) -> str:
        return f"TimeWindowOffset({self.n})"

    def upstream_keys(self, key: str, downstream: PartitionSet, upstream: PartitionSet | None
                      ) -> UpstreamKeys:
        if not isinstance(downstream, TimeWindowPartitions):
            raise TypeError(
                f"TimeWindowOffset needs a time-window downstream set, not {downstream}"
            )
        shifted = downstream.shift(key, self.n) if self.n else key
        if shifted is None:
            return []  # before the first window: nothing to read
        if upstream is None or upstream is downstream or (
            isinstance(upstream, TimeWindowPartitions)
            and upstream.describe() == downstream.describe()
        ):
            return [shifted]
        if not isinstance(upstream, TimeWindowPartitions):
            raise TypeError(f"TimeWindowOffset needs a time-window upstream set, not {upstream}")
        start, end = downstream.window(shifted)
        return upstream.keys_between(start, end)


class DimensionProjection(PartitionMapping):
    """A multi key reads the upstream key equal to its value in one dimension.

    `sales` partitioned by (date, region) with `DimensionProjection("region")` on
    `region_targets` reads region_targets[region].
    """

    def __init__(self, dimension: str) -> None:
        self.dimension = dimension

    def describe(self) -> str:
        return f"DimensionProjection({self.dimension!r})"

    def upstream_keys(self, key: str, downstream: PartitionSet, upstream: PartitionSet | None
                      ) -> UpstreamKeys:
        if not isinstance(downstream, MultiPartitions):
            raise TypeError(f"DimensionProjection needs a multi downstream set, not {downstream}")
        if self.dimension not in downstream.dimensions:
            raise ValueError(
                f"DimensionProjection: {downstream.name!r} has no dimension {self.dimension!r} "
                f"(dimensions: {list(downstream.dimension_names)})"
            )
        return [downstream.values(key)[self.dimension]]


class Custom(PartitionMapping):
    """Any function key -> upstream keys (or ALL). Its source is part of the code version."""

    def __init__(self, fn: Callable[[str], Sequence[str] | AllKeys], name: str | None = None
                 ) -> None:
        self.fn = fn
        self.name = name or getattr(fn, "__qualname__", repr(fn))

    def describe(self) -> str:
        return f"Custom({self.name}:{versions.code_version(self.fn)[:16]})"

    def upstream_keys(self, key: str, downstream: PartitionSet, upstream: PartitionSet | None
                      ) -> UpstreamKeys:
        out = self.fn(key)
        return out if isinstance(out, AllKeys) else list(out)


# --------------------------------------------------------------------------------------------
# Assets


class Dep:
    """An upstream asset (an Asset or its name) and how keys map onto it (Identity default)."""

    def __init__(self, asset: Asset | str, mapping: PartitionMapping | None = None) -> None:
        self.asset = asset
        self.mapping = mapping or Identity()

    @property
    def name(self) -> str:
        return self.asset if isinstance(self.asset, str) else self.asset.name

    def upstream_set(self) -> PartitionSet | None:
        if isinstance(self.asset, Asset):
            return self.asset.partitions
        from talentflow.partitions import catalog

        found = catalog.find_asset(self.asset)
        return found.partitions if found is not None else None

    def __repr__(self) -> str:
        return f"Dep({self.name!r}, {self.mapping.describe()})"


class Asset:
    """A named output computed (or, for a source asset, observed) per partition key.

    code_version = sha256 of `fn`'s module, the project modules `fn` names, everything in
    `code` (modules, functions, strings), the manual `version`, and the deps declaration.
    `runner`, if set, materializes a list of keys (the `talentflow materialize` hook).
    """

    def __init__(
        self,
        name: str,
        partitions: PartitionSet,
        deps: Sequence[Dep | Asset | str] = (),
        code: Sequence[Any] = (),
        version: str | None = None,
        *,
        fn: Callable[..., Any] | None = None,
        source: bool = False,
        runner: Callable[[Sequence[str]], Any] | None = None,
        observer: Callable[[Any], Iterable[tuple[str, str]]] | None = None,
        description: str = "",
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"an asset needs a non-empty name, got {name!r}")
        if not isinstance(partitions, PartitionSet):
            raise TypeError(f"asset {name!r}: partitions must be a partition set, "
                            f"got {partitions!r}")
        self.name = name
        self.partitions = partitions
        self.deps = [d if isinstance(d, Dep) else Dep(d) for d in deps]
        names = [d.name for d in self.deps]
        if len(set(names)) != len(names):
            raise ValueError(f"asset {name!r} lists an upstream twice: {names}")
        if source and self.deps:
            raise ValueError(f"source asset {name!r} cannot have upstream deps")
        self.code = list(code)
        self.version = version
        self.fn = fn
        self.source = source
        self.runner = runner
        # For source assets: reads the outside world's current (key, data version) pairs, so
        # status can see an edited row before any run does (see observation.py).
        self.observer = observer
        self.description = description or (inspect.getdoc(fn) or "" if fn else "")

    @cached_property
    def code_version(self) -> str:
        """The hash staleness and cache keys compare (computed once per process)."""
        deps = ";".join(f"{d.name}:{d.mapping.describe()}" for d in self.deps)
        extra = f"source={self.source};deps=[{deps}]"
        objs = ([self.fn] if self.fn is not None else []) + self.code
        return versions.code_version(*objs, version=self.version, extra=extra)

    @property
    def materialize_fn(self) -> Callable[[Sequence[str]], Any] | None:
        return self.runner

    @property
    def all_of(self) -> list[str]:
        """Names of upstream assets read whole (AllOf): their watermark is compared."""
        return [d.name for d in self.deps if isinstance(d.mapping, AllOf)]

    def upstream_keys(self, key: str) -> dict[str, UpstreamKeys]:
        """For one key: upstream asset name -> the keys it reads (or ALL)."""
        return {
            d.name: d.mapping.upstream_keys(key, self.partitions, d.upstream_set())
            for d in self.deps
        }

    def keys(self, conn: Any = None, *, now: datetime | None = None) -> list[str]:
        return self.partitions.keys(conn, now=now)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.fn is None:
            raise TypeError(f"asset {self.name!r} was declared without a function")
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        kind = "source asset" if self.source else "asset"
        return f"<{kind} {self.name!r} over {self.partitions.name!r} deps={self.deps}>"


def asset(
    name: str | None = None,
    *,
    partitions: PartitionSet,
    deps: Sequence[Dep | Asset | str] = (),
    code: Sequence[Any] = (),
    version: str | None = None,
    runner: Callable[[Sequence[str]], Any] | None = None,
) -> Callable[[Callable[..., Any]], Asset]:
    """Decorator: the function computes the asset for one partition key.

    The function stays callable as before (`asset_obj(key, ...)`); its whole module and the
    project helpers it names are part of the code version.
    """

    def wrap(fn: Callable[..., Any]) -> Asset:
        return Asset(name or fn.__name__, partitions, deps, code, version, fn=fn, runner=runner)

    return wrap


def source_asset(name: str, partitions: PartitionSet, version: str | None = None,
                 description: str = "",
                 observer: Callable[[Any], Iterable[tuple[str, str]]] | None = None) -> Asset:
    """An observed asset (rows that arrive from elsewhere): never stale, no code.

    Its data version is supplied by the caller (e.g. a hash of the row) via
    `materializations.observe`, which records only real changes. With an `observer`
    (`conn -> iterable of (key, data version)`), `observation.observe_sources` can look at the
    outside world on demand, e.g. before `talentflow status`.
    """
    return Asset(name, partitions, version=version, source=True, description=description,
                 observer=observer)
