"""docs/partitions.md opens with a user's own 3-asset chain: it is this test's chain, word
for word, and it runs as the page says — no runner code."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]


def test_the_docs_open_with_exactly_this_chain() -> None:
    docs = (ROOT / "docs" / "partitions.md").read_text(encoding="utf-8")
    first_block = re.search(r"```python\n(.*?)```", docs, re.S).group(1)
    chain = (ROOT / "tests" / "engine" / "chain.py").read_text(encoding="utf-8")
    assert first_block.strip() == chain.split("\n", 1)[1].strip()
    assert len(first_block.strip().splitlines()) <= 30


def test_the_chain_runs_and_reruns_exactly_what_changed(db: str) -> None:
    from talentflow.db import connect
    from talentflow.engine import materialize
    from talentflow.partitions import registry
    from tests.engine.chain import defs

    with psycopg.connect(db) as conn:
        conn.execute("CREATE TABLE items (id text PRIMARY KEY, body text)")
        conn.execute("INSERT INTO items VALUES ('k-1', ' Hello '), ('k-2', 'World  ')")
    with connect() as conn:
        registry.add_keys(conn, "items", ["k-1", "k-2"])

    first = materialize(defs, ["report+upstream"])
    assert sorted(first.assets["report"].ran) == ["k-1", "k-2"]
    with psycopg.connect(db) as conn:
        values = dict(conn.execute("SELECT partition_key, value FROM asset_values "
                                   "WHERE asset = 'report'").fetchall())
        assert values == {"k-1": {"len": 5}, "k-2": {"len": 5}}
        conn.execute("UPDATE items SET body = 'Hello, world' WHERE id = 'k-2'")
    second = materialize(defs, ["report+upstream"])
    assert second.assets["clean"].ran == ["k-2"] and second.assets["report"].ran == ["k-2"]
