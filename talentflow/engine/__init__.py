"""The engine: runs any declared asset graph on Prefect (see DESIGN.md, "The engine").

    from talentflow.engine import Definitions, asset, materialize
    from talentflow.partitions import DynamicPartitions

    items = DynamicPartitions("items")

    @asset(partitions=items)
    def clean(raw: dict) -> dict: ...

    defs = Definitions(assets=[raw, clean])
    materialize(defs, ["clean+upstream"])

Nothing here names an application entity: it serves any Prefect project.
"""

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
from talentflow.engine.flow import materialize, materialize_flow, pending, run_in_flow
from talentflow.engine.run import AssetReport, KeySelection, RunReport
from talentflow.engine.stores import PostgresValueStore, Stored, ValueStore
from talentflow.partitions.assets import AllOf, Dep, Identity, asset, source_asset

__all__ = [
    "AllOf", "AllOfInput", "AssetReport", "BatchContext", "Changes", "Definitions",
    "DefinitionsNotFound", "Dep", "Failure", "Identity", "KeyContext", "KeyFailed",
    "KeySelection", "Output", "PostgresValueStore", "Resource", "RunReport", "Stored",
    "UnknownAsset", "ValueStore", "asset", "load_definitions", "materialize",
    "materialize_flow", "pending", "run_in_flow", "source_asset",
]
