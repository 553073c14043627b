"""Tag the running flow run with its partition, so the Prefect UI can filter by key."""

from __future__ import annotations

from collections.abc import Sequence


def tag_current_run(tags: Sequence[str]) -> None:
    """Add tags to the current flow run (best effort: tags are for people, not correctness)."""
    from prefect.client.orchestration import get_client
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None:
        return
    merged = sorted(set(ctx.flow_run.tags or []) | set(tags))
    try:
        with get_client(sync_client=True) as client:
            client.update_flow_run(ctx.flow_run.id, tags=merged)
    except Exception:  # noqa: BLE001 - an unreachable API must not fail the run over a tag
        pass
