"""`talentflow api`: serve the read-only REST API (status, lineage, costs)."""

from __future__ import annotations

import typer


def api(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8080, help="TCP port."),
) -> None:
    """Serve GET /assets, /assets/{asset}/status, /assets/{asset}/partitions/{key} and /costs
    (OpenAPI docs at /docs)."""
    import uvicorn

    uvicorn.run("talentflow.api:app", host=host, port=port, log_level="info")
