"""The engine: runs any declared asset graph on Prefect (see DESIGN.md, "The engine").

    from talentflow.engine import Definitions, DynamicPartitions, asset, materialize

    items = DynamicPartitions("items")

    @asset(partitions=items)
    def clean(raw: dict) -> dict: ...

    defs = Definitions(assets=[raw, clean])
    materialize(defs, ["clean+upstream"])

Nothing here names an application entity: it serves any Prefect project.
"""

from talentflow.db import connect
from talentflow.engine.automation import Eager, Manual, OnCron, OnMissing
from talentflow.engine.checks import AssetCheck, CheckOutcome, CheckResult, Severity, asset_check
from talentflow.engine.context import (
    AllOfInput,
    BatchContext,
    Changes,
    Failure,
    KeyContext,
    KeyFailed,
    Output,
)
from talentflow.engine.definitions import (
    Definitions,
    DefinitionsNotFound,
    Resource,
    UnknownAsset,
    load_definitions,
)
from talentflow.engine.flow import (
    checks_flow,
    materialize,
    materialize_flow,
    pending,
    run_checks,
    run_in_flow,
)
from talentflow.engine.run import AssetReport, KeySelection, RunReport
from talentflow.engine.stores import PostgresValueStore, Stored, ValueStore
from talentflow.partitions.assets import (
    AllOf,
    Custom,
    Dep,
    DimensionProjection,
    Identity,
    TimeWindowOffset,
    asset,
    source_asset,
)
from talentflow.partitions.errors import InvalidPartitionKey
from talentflow.partitions.sets import (
    DynamicMultiPartitions,
    DynamicPartitions,
    MultiPartitions,
    StaticPartitions,
    TimeWindowPartitions,
)

# What a user needs, from one place: declarations, the graph, running it, the connection.
__all__ = [
    "AllOf", "AllOfInput", "AssetCheck", "AssetReport", "BatchContext", "Changes",
    "CheckOutcome", "CheckResult", "Custom", "Definitions", "Severity", "asset_check",
    "checks_flow", "run_checks",
    "Eager", "Manual", "OnCron", "OnMissing",
    "DefinitionsNotFound", "Dep", "DimensionProjection", "DynamicMultiPartitions",
    "DynamicPartitions", "Failure",
    "Identity", "InvalidPartitionKey", "KeyContext", "KeyFailed", "KeySelection",
    "MultiPartitions", "Output", "PostgresValueStore", "Resource", "RunReport",
    "StaticPartitions", "Stored", "TimeWindowOffset", "TimeWindowPartitions", "UnknownAsset",
    "ValueStore", "asset", "connect", "load_definitions", "materialize", "materialize_flow",
    "pending", "run_in_flow", "source_asset",
]
