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

import copy
import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import cached_property
from typing import Any

from talentflow.partitions import codec, versions
from talentflow.partitions.sets import (
    DynamicMultiPartitions,
    MultiPartitions,
    PartitionSet,
    TimeWindowPartitions,
)


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

    # True when every key reads exactly one upstream key (Identity, a projection): the
    # function then receives that key's value itself, not {upstream key: value}.
    single: bool = False

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

    single = True

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
    """A multi key reads the upstream key made of its values in some dimensions.

    `sales` partitioned by (date, region) with `DimensionProjection("region")` on
    `region_targets` reads region_targets[region]. With several dimensions the upstream key
    is their codec-encoded values in the order given: an essay keyed by (combo, template,
    model, essay_template, essay_model) reads its parent draft (combo, template, model) with
    `DimensionProjection("combo", "template", "model")` — a parent link, with no key parsing
    anywhere else.
    """

    single = True

    def __init__(self, *dimensions: str) -> None:
        if not dimensions or not all(isinstance(d, str) and d for d in dimensions):
            raise ValueError(f"DimensionProjection takes dimension names, got {dimensions!r}")
        self.dimensions = tuple(dimensions)
        self.dimension = dimensions[0]  # the one-dimension spelling, kept for readers

    def describe(self) -> str:
        return f"DimensionProjection({', '.join(repr(d) for d in self.dimensions)})"

    def upstream_keys(self, key: str, downstream: PartitionSet, upstream: PartitionSet | None
                      ) -> UpstreamKeys:
        if not isinstance(downstream, MultiPartitions | DynamicMultiPartitions):
            raise TypeError(f"DimensionProjection needs a multi downstream set, not {downstream}")
        values = downstream.values(key)
        missing = [d for d in self.dimensions if d not in values]
        if missing:
            raise ValueError(
                f"DimensionProjection: {downstream.name!r} has no dimension {missing[0]!r} "
                f"(dimensions: {list(downstream.dimension_names)})"
            )
        picked = [values[d] for d in self.dimensions]
        # One dimension: its value is the upstream key; several: their codec-encoded key, in
        # the order given (the parent's own dimension order).
        return [picked[0] if len(picked) == 1 else codec.encode(picked)]


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
    """An upstream asset (an Asset or its name) and how keys map onto it (Identity default).

    A name is resolved by the `Definitions` the asset is part of: a declaration never looks
    anything up in a global registry.
    """

    def __init__(self, asset: Asset | str, mapping: PartitionMapping | None = None, *,
                 param: str | None = None) -> None:
        self.asset = asset
        self.mapping = mapping or Identity()
        # The parameter of the asset function that receives this upstream (default: its
        # name), so one function can serve assets whose upstreams are named differently.
        self.param = param

    @property
    def name(self) -> str:
        return self.asset if isinstance(self.asset, str) else self.asset.name

    @property
    def param_name(self) -> str:
        return self.param or self.name

    @property
    def resolved(self) -> Asset | None:
        return self.asset if isinstance(self.asset, Asset) else None

    def upstream_set(self) -> PartitionSet | None:
        return self.asset.partitions if isinstance(self.asset, Asset) else None

    def resolve(self, asset: Asset) -> Dep:
        """The same dependency on a resolved asset object."""
        return Dep(asset, self.mapping, param=self.param)

    def __repr__(self) -> str:
        return f"Dep({self.name!r}, {self.mapping.describe()})"


# Parameter names the engine fills itself; every other parameter of an asset function names
# an upstream asset or a resource.
CONTEXT_PARAMS = frozenset({"ctx", "context"})
KEY_PARAMS = frozenset({"key", "partition_key"})
DEFAULT_KEY_BATCH = 1000  # keys per task run for single-key functions (a task run is ~15 ms)


class Asset:
    """A named output computed (or, for a source asset, observed) per partition key.

    code_version = sha256 of `fn`'s module and every project module it reaches (versions.py),
    everything in `code` (modules, functions, strings), the manual `version`, the deps
    declaration and the versions of the resources it uses (bound by `Definitions`).

    Compute contract (run by `talentflow.engine`):
    - single-key (`batch_size=None`): `fn(key?, ctx?, <upstream>=value, <resource>=obj)`
      returns the key's value (or an `Output`); the engine runs up to DEFAULT_KEY_BATCH keys
      per Prefect task run and isolates each key's error;
    - batch-aware (`batch_size=N`): `fn(ctx, <upstream>={key: value}, <resource>=obj)` gets one
      batch of N keys and returns {key: value | Output | Exception}.
    - a source asset's fn loads the outside world's rows for `ctx.keys`; its `observer`
      (conn -> (key, data version) pairs) lets status see edits before any run.
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
        observer: Callable[[Any], Iterable[tuple[str, str]]] | None = None,
        description: str = "",
        batch_size: int | None = None,
        retries: int = 0,
        retry_delay_s: float = 1.0,
        store: Any = None,
        cache: bool = True,
        resources: Sequence[str] = (),
        automation: Any = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"an asset needs a non-empty name, got {name!r}")
        if not isinstance(partitions, PartitionSet):
            raise TypeError(f"asset {name!r}: partitions must be a partition set, "
                            f"got {partitions!r}")
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"asset {name!r}: batch_size must be ≥ 1, got {batch_size}")
        if retries < 0 or retry_delay_s < 0:
            raise ValueError(f"asset {name!r}: retries and retry_delay_s must be ≥ 0")
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
        # For source assets: reads the outside world's current (key, data version) pairs, so
        # status can see an edited row before any run does (see observation.py).
        self.observer = observer
        self.description = description or (inspect.getdoc(fn) or "" if fn else "")
        self.batched = batch_size is not None
        self.batch_size = batch_size or DEFAULT_KEY_BATCH
        self.retries = retries
        self.retry_delay_s = retry_delay_s
        self.store = store  # None: the engine's default PostgreSQL value store
        self.cache = cache
        self.resources = tuple(resources)
        # When the reconcile loop runs it (talentflow.engine.automation); None: manual.
        self.automation = automation
        # Set by Definitions.bind(): the names of its blocking checks (engine/checks.py).
        self.blocking_checks: tuple[str, ...] = ()
        # Set by Definitions.bind(): {resource name: its version} for this run's settings.
        self.resource_versions: dict[str, str] | None = None if self.resources else {}

    def bound(self, deps: Sequence[Dep], resource_versions: dict[str, str]) -> Asset:
        """A copy with resolved deps and this run's resource versions (Definitions does it)."""
        twin = copy.copy(self)
        twin.__dict__.pop("code_version", None)
        twin.deps = list(deps)
        twin.resource_versions = {r: resource_versions[r] for r in self.resources}
        return twin

    @cached_property
    def code_version(self) -> str:
        """The hash staleness and cache keys compare (computed once per bound asset)."""
        if self.resource_versions is None:
            raise RuntimeError(
                f"asset {self.name!r} uses resources {list(self.resources)}: its code version "
                "depends on their settings, so take the asset from a Definitions object "
                "(defs.get(name)), which resolves them once"
            )
        deps = ";".join(f"{d.name}:{d.mapping.describe()}" for d in self.deps)
        res = ";".join(f"{k}={v}" for k, v in sorted(self.resource_versions.items()))
        extra = f"source={self.source};deps=[{deps}];resources=[{res}]"
        objs = ([self.fn] if self.fn is not None else []) + self.code
        return versions.code_version(*objs, version=self.version, extra=extra)

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


def _param_deps(fn: Callable[..., Any], deps: Sequence[Dep | Asset | str],
                resources: Sequence[str]) -> list[Dep | Asset | str]:
    """Declared deps plus one Identity dep per parameter naming an upstream asset."""
    declared = {d.param_name if isinstance(d, Dep) else d.name if isinstance(d, Asset) else d
                for d in deps}
    out = list(deps)
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        name = param.name
        if name in CONTEXT_PARAMS or name in KEY_PARAMS or name in resources \
                or name in declared:
            continue
        out.append(name)
    return out


def asset(
    name: str | None = None,
    *,
    partitions: PartitionSet,
    deps: Sequence[Dep | Asset | str] = (),
    code: Sequence[Any] = (),
    version: str | None = None,
    source: bool = False,
    observer: Callable[[Any], Iterable[tuple[str, str]]] | None = None,
    batch_size: int | None = None,
    retries: int = 0,
    retry_delay_s: float = 1.0,
    store: Any = None,
    cache: bool = True,
    resources: Sequence[str] = (),
    automation: Any = None,
    description: str = "",
) -> Callable[[Callable[..., Any]], Asset]:
    """Decorator: the function computes the asset (see `Asset` for the compute contract).

    A parameter named after another asset is an Identity dependency on it (declare other
    mappings in `deps=[Dep(name, mapping)]`); `ctx`/`context` gets the engine's context,
    `key`/`partition_key` the key, a parameter named in `resources` that resource.
    """

    def wrap(fn: Callable[..., Any]) -> Asset:
        all_deps = [] if source else _param_deps(fn, deps, resources)
        return Asset(name or fn.__name__, partitions, all_deps, code, version, fn=fn,
                     source=source, observer=observer, batch_size=batch_size,
                     retries=retries, retry_delay_s=retry_delay_s, store=store, cache=cache,
                     resources=resources, automation=automation, description=description)

    return wrap


def source_asset(name: str, partitions: PartitionSet, version: str | None = None,
                 description: str = "",
                 observer: Callable[[Any], Iterable[tuple[str, str]]] | None = None,
                 fn: Callable[..., Any] | None = None) -> Asset:
    """An observed asset (rows that arrive from elsewhere): never stale, no code of its own.

    `fn(ctx)` loads the rows of `ctx.keys` (what downstream reads, versioned by content);
    `observer(conn)` yields every current (key, data version) so status can see an edited row
    before any run (`observation.observe_sources`). Observing records only real changes.
    """
    return Asset(name, partitions, version=version, source=True, description=description,
                 observer=observer, fn=fn)
