"""The registry of dynamic keys: verbatim storage, paging, deletion, concurrency, 100k adds."""

from __future__ import annotations

import random
import threading

import psycopg
import pytest

from talentflow.partitions import InvalidPartitionKey, registry

WEIRD = [
    "Robert'); DROP TABLE partition_keys;--",
    "a/b\\c",
    'quote"d',
    "new\nline",
    "tab\tand\rreturn",
    "😀 emoji",
    "  padded  ",
    "Case",
    "case",
    "*",
    "%_",
    "é",
    "e\u0301",  # the same glyph as 'é', different bytes: must stay two keys
]


def test_add_is_idempotent_and_stores_keys_verbatim(conn) -> None:
    assert registry.add_keys(conn, "s", WEIRD) == len(WEIRD)
    assert registry.add_keys(conn, "s", WEIRD + ["extra"]) == 1
    stored = registry.all_keys(conn, "s")
    assert sorted(stored) == sorted(WEIRD + ["extra"])
    # Byte order (code point order), not a locale's: uppercase first, no case folding.
    assert stored == sorted(stored, key=lambda k: k.encode())
    assert registry.count_keys(conn, "s") == len(WEIRD) + 1
    assert registry.count_keys(conn, "other") == 0
    assert registry.add_keys(conn, "s", []) == 0


def test_the_copy_path_stores_weird_keys_verbatim_too(conn) -> None:
    keys = [f"{w}#{i}" for i in range(60) for w in WEIRD]  # > the COPY threshold
    assert registry.add_keys(conn, "big", keys) == len(keys)
    assert sorted(registry.all_keys(conn, "big")) == sorted(keys)


@pytest.mark.parametrize(
    ("key", "reason"),
    [("", "empty key"), ("a\x00b", "NUL byte"), ("x" * 513, "513 bytes"),
     ("é" * 257, "514 bytes"), (42, "a key is a str")],
)
def test_unstorable_keys_are_rejected_with_a_reason(conn, key, reason) -> None:
    with pytest.raises(InvalidPartitionKey) as err:
        registry.add_keys(conn, "s", ["fine", key])
    assert reason in str(err.value) and "'s'" in str(err.value)
    assert registry.count_keys(conn, "s") == 0  # validated before anything is written


def test_list_pages_by_keyset_and_prefix(conn) -> None:
    keys = [f"k{i:03d}" for i in range(250)] + ["k", "k\U0010ffff", "l", "j", "kz😀"]
    registry.add_keys(conn, "s", keys)
    pages, after = [], None
    while True:
        page = registry.list_keys(conn, "s", after=after, limit=100)
        if not page:
            break
        pages.append(page)
        after = page[-1]
    assert [len(p) for p in pages] == [100, 100, 55]
    assert sum(pages, []) == sorted(keys, key=lambda k: k.encode())
    assert registry.list_keys(conn, "s", prefix="k00", limit=5) == [f"k00{i}" for i in range(5)]
    assert registry.list_keys(conn, "s", prefix="k24", after="k245") == [
        "k246", "k247", "k248", "k249"]
    with_k = registry.list_keys(conn, "s", prefix="k", limit=1000)
    assert len(with_k) == 253 and "l" not in with_k and "k\U0010ffff" in with_k
    assert registry.count_keys(conn, "s", prefix="kz") == 1
    assert registry.list_keys(conn, "s", prefix="%") == []  # no LIKE wildcards


def test_delete_keeps_history_as_orphans(conn) -> None:
    from talentflow.partitions import DynamicPartitions, MultiPartitions, Record, source_asset
    from talentflow.partitions import materializations as mz

    docs = DynamicPartitions("docs")
    registry.add_keys(conn, "docs", ["a", "b", "c|d"])
    raw = source_asset("raw", docs)
    pairs = source_asset("pairs", MultiPartitions({"left": docs, "right": docs}))
    mz.record_many(conn, raw, [Record("a", "1"), Record("b", "1"), Record("c|d", "1")])
    mz.record_many(conn, pairs, [Record(pairs.partitions.key(x, y), "1")
                                 for x in ("a", "b", "c|d") for y in ("a", "b")])
    assert registry.delete_keys(conn, "docs", ["c|d", "nope"]) == 1
    assert registry.all_keys(conn, "docs") == ["a", "b"]
    assert mz.latest(conn, raw, "c|d") is None and mz.latest(conn, raw, "a") is not None
    orphaned = conn.execute(
        "SELECT asset, partition_key FROM materializations WHERE orphaned ORDER BY 1, 2"
    ).fetchall()
    assert orphaned == [("pairs", "c\\|d|a"), ("pairs", "c\\|d|b"), ("raw", "c|d")]
    assert registry.delete_keys(conn, "docs", ["c|d"]) == 0


def _add_concurrently(url: str, batches: list[list[str]]) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(batches))

    def worker(batch: list[str]) -> None:
        try:
            with psycopg.connect(url) as conn:  # one transaction per worker
                barrier.wait()
                registry.add_keys(conn, "shared", batch)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@pytest.mark.parametrize("size", [200, 6000])  # both the array and the COPY path
def test_concurrent_overlapping_adds_neither_fail_nor_duplicate(db, conn, size) -> None:
    rng = random.Random(size)
    universe = [f"key-{i}" for i in range(size)]
    batches = []
    for _ in range(4):
        batch = rng.sample(universe, k=size * 3 // 4)  # heavy overlap, random order
        batches.append(batch)
    assert _add_concurrently(db, batches) == []
    expected = set().union(*map(set, batches))
    assert registry.count_keys(conn, "shared") == len(expected)
    assert set(registry.all_keys(conn, "shared")) == expected


def test_one_hundred_thousand_keys_in_one_call(conn) -> None:
    keys = [f"item-{i:06d}" for i in range(100_000)]
    assert registry.add_keys(conn, "many", keys) == 100_000
    assert registry.add_keys(conn, "many", keys[:50_000] + ["one more"]) == 1
    assert registry.count_keys(conn, "many") == 100_001
