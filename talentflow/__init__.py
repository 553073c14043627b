"""talentflow: partitioned, incremental, staleness-aware assets on Prefect."""

__version__ = "0.1.0"
