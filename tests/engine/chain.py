"""A user's own 3-asset chain, as docs/partitions.md opens with (kept importable for tests)."""

from talentflow.engine import Definitions, DynamicPartitions, asset

items = DynamicPartitions("items")


@asset(partitions=items, source=True)
def raw(ctx) -> dict:  # observed rows, versioned by content
    rows = ctx.conn.execute("SELECT id, body FROM items WHERE id = ANY(%s)", [ctx.keys])
    return dict(rows.fetchall())


@asset(partitions=items)  # Identity on raw, by parameter name
def clean(raw: str) -> dict:
    return {"v": raw.strip().lower()}


@asset(partitions=items, batch_size=256, retries=2, retry_delay_s=0)
def report(ctx, clean: dict[str, dict]) -> dict[str, dict]:  # one batch at a time
    return {k: {"len": len(c["v"])} for k, c in clean.items()}


defs = Definitions(assets=[raw, clean, report])
