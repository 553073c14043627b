"""Partition status as a Prefect artifact: the answer to "what is missing, running, failed,
stale?" on the flow run's page in the Prefect UI."""

from __future__ import annotations

import logging

from talentflow.db import connect
from talentflow.partitions import counts
from talentflow.partitions.status import STATES
from tasks import assets

ARTIFACT_KEY = "partition-status"  # artifact keys: lowercase letters, digits and dashes only


def publish_status_artifact() -> None:
    """One row per asset with its counts by status (one bulk query per asset). Best effort."""
    from prefect.artifacts import create_table_artifact

    try:
        with connect() as conn:
            table = [
                {"asset": a.name, **counts(conn, a)}
                for a in assets.ASSETS.values() if not a.source
            ]
        create_table_artifact(
            key=ARTIFACT_KEY, table=table,
            description="Partitions per asset by status: " + ", ".join(STATES),
        )
    except Exception as exc:  # noqa: BLE001 - a report must never fail a finished run
        logging.getLogger(__name__).warning("could not publish the status artifact: %s", exc)
