"""A project whose one asset can be made slow (TALENTFLOW_TEST_SLOW_S), so a test can kill
the process that runs it mid-batch."""

from __future__ import annotations

import os
import time

from talentflow.engine import Definitions, asset
from talentflow.partitions import StaticPartitions

KEYS = StaticPartitions("slow_keys", [f"s-{i}" for i in range(6)])


@asset(partitions=KEYS, batch_size=3)
def slow(ctx) -> dict[str, int]:
    time.sleep(float(os.environ.get("TALENTFLOW_TEST_SLOW_S", "0")))
    return {k: int(k.split("-")[1]) for k in ctx.keys}


defs = Definitions(assets=[slow])
