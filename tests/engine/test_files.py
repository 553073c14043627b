"""The file store on a real file system: one directory per key, atomic generations, the
version stored with the files, leftovers of a crashed write cleaned, and an engine run whose
values are files read back by the next asset."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from talentflow.engine import Definitions, Dep, DynamicMultiPartitions, asset, materialize
from talentflow.engine.files import VERSION_FILE, FileStore, FileValueError
from talentflow.partitions import DimensionProjection, registry


def gen(parsed: dict, raw: str = "raw answer") -> dict:
    return {"prompt.txt": "Write about x.", "raw.txt": raw, "parsed.json": parsed,
            "metadata.json": {"model": "m", "tokens": 12}}


def test_a_generation_round_trips_with_its_version(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "draft", version_file="parsed.json")
    value = gen({"title": "Été", "n": 3})
    version = store.version(value)
    store.write(None, "draft", {"c1|t|m": (value, version)})

    folder = tmp_path / "draft" / "c1%7Ct%7Cm"
    assert sorted(p.name for p in folder.iterdir()) == sorted([*value, VERSION_FILE])
    assert json.loads((folder / "parsed.json").read_text("utf-8")) == {"title": "Été", "n": 3}
    assert (folder / "raw.txt").read_text("utf-8") == "raw answer"
    back = store.read(None, "draft", ["c1|t|m", "absent"])
    assert list(back) == ["c1|t|m"]
    assert back["c1|t|m"].value == value and back["c1|t|m"].data_version == version
    assert store.key_of(folder) == "c1|t|m"
    # The version is the parsed output's: a new raw text with the same parse is not new data.
    assert store.version(gen({"title": "Été", "n": 3}, raw="other")) == version
    assert store.version(gen({"title": "Été", "n": 4})) != version


def test_a_rewrite_swaps_the_whole_generation_and_sweeps_leftovers(tmp_path: Path) -> None:
    store = FileStore(tmp_path, version_file="parsed.json")
    first = gen({"v": 1})
    store.write_one("draft", "k", first, store.version(first))
    # A crashed write left a half-written hidden generation and a dangling link behind.
    (tmp_path / ".k.deadbeef").mkdir()
    (tmp_path / ".k.deadbeef" / "raw.txt").write_text("half")
    os.symlink(".k.deadbeef", tmp_path / ".k.deadbeef.link")
    before = os.readlink(tmp_path / "k")

    second = {"parsed.json": {"v": 2}, "raw.txt": "new"}
    store.write_one("draft", "k", second, store.version(second))

    assert os.readlink(tmp_path / "k") != before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["k", os.readlink(tmp_path / "k")])  # old generation and leftovers are gone
    got = store.read_one("k")
    assert got is not None and got.value == second  # no file of the old generation remains


def test_a_reader_holding_the_old_generation_sees_all_of_it(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    old = {"a.txt": "old a", "b.txt": "old b"}
    store.write_one("x", "k", old, store.version(old))
    generation = tmp_path / os.readlink(tmp_path / "k")
    files_before = {p.name: p.read_text() for p in generation.iterdir()}
    new = {"a.txt": "new a", "b.txt": "new b"}
    store.write_one("x", "k", new, store.version(new))
    # Through the entry name, only the new generation is visible, complete.
    assert {p.name: p.read_text() for p in (tmp_path / "k").iterdir()
            if p.name != VERSION_FILE} == new
    assert files_before["a.txt"] == "old a"


def test_values_the_store_cannot_write_are_refused(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    for bad, why in [({"../escape.txt": "x"}, "not a plain file name"),
                     ({".hidden": "x"}, "not a plain file name"),
                     ({"data.txt": {"a": 1}}, "only \\*.json files hold data"),
                     ("just text", "non-empty mapping")]:
        with pytest.raises(FileValueError, match=why):
            store.write(None, "x", {"k": (bad, "v")})
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "real").mkdir()
    with pytest.raises(FileValueError, match="is a real directory"):
        store.write_one("x", "real", {"a.txt": "a"}, "v")


def test_an_engine_run_writes_files_and_the_child_reads_its_parent(db: str, tmp_path: Path
                                                                   ) -> None:
    drafts = DynamicMultiPartitions("fs_drafts", ["combo", "template"])
    essays = DynamicMultiPartitions("fs_essays", ["combo", "template", "essay_template"])

    @asset(partitions=drafts, store=FileStore(tmp_path / "draft", version_file="parsed.json"))
    def draft(key: str) -> dict:
        dims = drafts.values(key)
        return {"prompt.txt": f"draft {dims}", "parsed.json": {"text": dims["combo"] * 2}}

    @asset(partitions=essays, store=FileStore(tmp_path / "essay", version_file="parsed.json"),
           deps=[Dep("draft", DimensionProjection("combo", "template"))])
    def essay(key: str, draft: dict) -> dict:  # the parent draft's files, by projection
        return {"parsed.json": {"text": draft["parsed.json"]["text"].upper(),
                                "from": draft["prompt.txt"]}}

    from talentflow.db import connect

    with connect() as conn:
        registry.add_keys(conn, "fs_drafts", [drafts.key("ab", "t|1")])
        registry.add_keys(conn, "fs_essays", [essays.key("ab", "t|1", "e")])
        conn.commit()
    report = materialize(Definitions(assets=[draft, essay]), ["essay+upstream"])
    assert report.ok, report.failed
    folder = tmp_path / "essay" / "ab%7Ct%5C%7C1%7Ce"
    assert json.loads((folder / "parsed.json").read_text()) == {
        "text": "ABAB", "from": "draft {'combo': 'ab', 'template': 't|1'}"}
