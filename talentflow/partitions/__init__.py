"""Partitions: Dagster-grade partitioned, versioned, staleness-aware assets on Prefect.

Generic: nothing here knows about the application's data. See docs/partitions.md.
"""

from talentflow.partitions.assets import (
    ALL,
    AllOf,
    Asset,
    Custom,
    Dep,
    DimensionProjection,
    Identity,
    PartitionMapping,
    TimeWindowOffset,
    asset,
    source_asset,
)
from talentflow.partitions.cache import cache_key
from talentflow.partitions.errors import InvalidPartitionKey
from talentflow.partitions.materializations import (
    Record,
    current_inputs,
    fail,
    history,
    latest,
    observe,
    record_many,
    start,
    succeed,
)
from talentflow.partitions.sets import (
    Cadence,
    DstNaming,
    DynamicMultiPartitions,
    DynamicPartitions,
    MultiPartitions,
    NamedSchedule,
    PartitionSet,
    StaticPartitions,
    TimeWindowPartitions,
    Weekday,
)
from talentflow.partitions.status import (
    KeyStatus,
    Reason,
    ReasonKind,
    Work,
    counts,
    needing_work,
    status,
    status_all,
)
from talentflow.partitions.versions import code_version, data_version

__all__ = [
    "ALL", "AllOf", "Asset", "Cadence", "Custom", "Dep", "DstNaming", "NamedSchedule",
    "Weekday", "DimensionProjection", "DynamicMultiPartitions", "DynamicPartitions",
    "Identity", "InvalidPartitionKey", "KeyStatus", "MultiPartitions", "PartitionMapping",
    "PartitionSet", "Reason", "ReasonKind", "Record", "StaticPartitions", "TimeWindowOffset",
    "TimeWindowPartitions", "asset", "cache_key", "code_version", "counts", "current_inputs",
    "data_version", "fail", "history", "latest", "needing_work", "observe", "record_many",
    "source_asset", "start", "status", "status_all", "succeed", "Work",
]
