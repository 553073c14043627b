"""Per-partition cache keys from (asset, key, code version, upstream data versions).

The engine caches one entry per partition under this key (talentflow/engine/cache.py): the
same four parts must give the same key (a hit), and a change of any one of them a new key.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

from talentflow.engine.cache import partition_cache_key
from talentflow.partitions import ALL, cache_key

UP = {("raw", "k"): "v1", ("ref", ALL): "17"}
BASE = cache_key("clean", "k", "code", UP)


def test_cache_key_is_stable() -> None:
    # Same parts, same key: across calls, copies and the order of the upstream mapping.
    assert cache_key("clean", "k", "code", UP) == BASE
    assert cache_key("clean", "k", "code", dict(UP)) == BASE
    assert cache_key("clean", "k", "code", dict(reversed(list(UP.items())))) == BASE
    assert cache_key("clean", "k", "code", {("ref", ALL): "17", ("raw", "k"): "v1"}) == BASE
    assert re.fullmatch(r"clean-[0-9a-f]{64}", BASE)
    # The engine's entries are this key, prefixed.
    assert partition_cache_key("clean", "k", "code", UP) == "tf-" + BASE


def test_cache_key_is_the_same_in_another_process() -> None:
    """No hash randomization, no id(): an entry written by one run is found by the next."""
    code = (
        "from talentflow.partitions import ALL, cache_key\n"
        "print(cache_key('clean', 'k', 'code', {('raw', 'k'): 'v1', ('ref', ALL): '17'}))"
    )
    for seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={**os.environ, "PYTHONHASHSEED": seed}, timeout=120,
                             check=True)
        assert out.stdout.strip() == BASE


def test_cache_key_changes_with_the_asset() -> None:
    assert cache_key("other", "k", "code", UP) != BASE
    # The readable prefix is cut at 40 characters; the hash still covers the whole name.
    long_a, long_b = "x" * 40 + "a", "x" * 40 + "b"
    ka, kb = cache_key(long_a, "k", "code", UP), cache_key(long_b, "k", "code", UP)
    assert ka.split("-")[0] == kb.split("-")[0] == "x" * 40 and ka != kb
    # Characters a filesystem may refuse are replaced in the prefix, not in the hash.
    assert cache_key("a/b c", "k", "x", {}).startswith("a_b_c-")
    assert cache_key("a/b c", "k", "x", {}) != cache_key("a_b_c", "k", "x", {})


def test_cache_key_changes_with_the_partition_key() -> None:
    assert cache_key("clean", "k2", "code", UP) != BASE
    assert cache_key("clean", "K", "code", UP) != BASE
    assert cache_key("clean", "", "code", UP) != BASE
    # The parts are serialized, not concatenated: moving characters across a boundary
    # between two parts gives another key.
    assert cache_key("clean", "kc", "ode", UP) != BASE


def test_cache_key_changes_with_the_code_version() -> None:
    assert cache_key("clean", "k", "code2", UP) != BASE
    assert cache_key("clean", "k", "", UP) != BASE


def test_cache_key_changes_with_the_upstream_versions() -> None:
    # A changed version, a changed watermark, an input more or less, another upstream key.
    assert cache_key("clean", "k", "code", {**UP, ("raw", "k"): "v2"}) != BASE
    assert cache_key("clean", "k", "code", {**UP, ("ref", ALL): "18"}) != BASE
    assert cache_key("clean", "k", "code", {**UP, ("raw", "k2"): "v1"}) != BASE
    assert cache_key("clean", "k", "code", {("raw", "k"): "v1"}) != BASE
    assert cache_key("clean", "k", "code", {("raw", "j"): "v1", ("ref", ALL): "17"}) != BASE
    assert cache_key("clean", "k", "code", {("raw2", "k"): "v1", ("ref", ALL): "17"}) != BASE
    assert cache_key("clean", "k", "code", {}) != BASE
    # An upstream read while missing ("") is not the same input as no input at all.
    assert cache_key("c", "k", "x", {("raw", "k"): ""}) != cache_key("c", "k", "x", {})
    # ALL is not the key '*': a real key spelled '*' must not collide with "all of upstream".
    assert cache_key("c", "k", "x", {("ref", ALL): "1"}) != cache_key("c", "k", "x",
                                                                      {("ref", "*"): "1"})
    # Swapping versions between two upstream keys is a change.
    two = {("raw", "a"): "1", ("raw", "b"): "2"}
    assert cache_key("c", "k", "x", two) != cache_key(
        "c", "k", "x", {("raw", "a"): "2", ("raw", "b"): "1"})


def test_cache_key_accepts_labels_as_upstream_refs() -> None:
    labelled = cache_key("c", "k", "x", {"raw[k]": "v1"})
    assert labelled == cache_key("c", "k", "x", {"raw[k]": "v1"})
    assert labelled != cache_key("c", "k", "x", {"raw[k]": "v2"})
    assert re.fullmatch(r"c-[0-9a-f]{64}", labelled)
