"""Prefect cache keys from (asset, key, code version, upstream data versions), on a real flow."""

from __future__ import annotations

from talentflow.partitions import (
    ALL,
    Asset,
    DynamicPartitions,
    cache_key,
    partition_cache_key_fn,
    partition_task_options,
)

docs = DynamicPartitions("docs")


def test_cache_key_is_stable_and_covers_its_four_inputs() -> None:
    up = {("raw", "k"): "v1", ("ref", ALL): "17"}
    key = cache_key("clean", "k", "code", up)
    assert key == cache_key("clean", "k", "code", dict(reversed(list(up.items()))))
    assert key.startswith("clean-") and len(key) == len("clean-") + 64
    assert key != cache_key("clean", "k2", "code", up)
    assert key != cache_key("clean", "k", "code2", up)
    assert key != cache_key("clean", "k", "code", {**up, ("raw", "k"): "v2"})
    assert key != cache_key("other", "k", "code", up)
    # ALL is not the key '*': a real key spelled '*' must not collide with "all of upstream".
    assert cache_key("c", "k", "x", {("ref", ALL): "1"}) != cache_key("c", "k", "x",
                                                                      {("ref", "*"): "1"})
    assert cache_key("a/b c", "k", "x", {}).startswith("a_b_c-")


def test_prefect_caches_until_code_or_upstream_changes() -> None:
    from prefect import flow, task

    executed: list[tuple[str, str]] = []
    v1 = Asset("clean", docs, version="1")
    v2 = Asset("clean", docs, version="2")  # the same asset after a code change

    def body(partition_key: str, upstream_versions: dict, code: str) -> str:
        executed.append((partition_key, code))
        return partition_key.upper()

    @task(**partition_task_options(v1))
    def clean_v1(partition_key: str, upstream_versions: dict) -> str:
        return body(partition_key, upstream_versions, "v1")

    @task(cache_key_fn=partition_cache_key_fn(v2), persist_result=True)
    def clean_v2(partition_key: str, upstream_versions: dict) -> str:
        return body(partition_key, upstream_versions, "v2")

    @flow
    def pipeline() -> list[tuple[str, object]]:
        up = {("raw", "k1"): "row-hash-1"}
        states = [
            clean_v1(partition_key="k1", upstream_versions=up, return_state=True),
            clean_v1(partition_key="k1", upstream_versions=dict(up), return_state=True),
            clean_v1(partition_key="k1", upstream_versions={("raw", "k1"): "row-hash-2"},
                     return_state=True),
            clean_v2(partition_key="k1", upstream_versions=up, return_state=True),
            clean_v1(partition_key="k2", upstream_versions={("raw", "k2"): "x"},
                     return_state=True),
        ]
        return [(s.name, s.result()) for s in states]

    results = pipeline()
    assert [name for name, _ in results] == [
        "Completed", "Cached", "Completed", "Completed", "Completed"]
    assert [value for _, value in results] == ["K1"] * 4 + ["K2"]
    assert executed == [("k1", "v1"), ("k1", "v1"), ("k1", "v2"), ("k2", "v1")]

    # A second flow run with nothing changed: every task is a hit from persisted results.
    executed.clear()
    again = pipeline()
    assert [name for name, _ in again] == ["Cached"] * 5 and executed == []
