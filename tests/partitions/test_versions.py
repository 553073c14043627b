"""Code versions cover helpers (unlike Prefect's TASK_SOURCE); data versions are canonical."""

from __future__ import annotations

import importlib
import sys
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from talentflow.partitions import code_version, data_version
from talentflow.partitions.versions import code_parts

HELPERS = '''
def clean(text):
    return text.strip()
'''
COMPUTE = '''
import json

from {pkg}.helpers import clean


def compute(key):
    # turn a key into a record
    return json.dumps({{"key": clean(key)}})
'''


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A throwaway package: compute.compute calls helpers.clean."""
    pkg = f"tfpkg_{uuid.uuid4().hex[:8]}"
    root = tmp_path / pkg
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "helpers.py").write_text(HELPERS)
    (root / "compute.py").write_text(COMPUTE.format(pkg=pkg))
    monkeypatch.syspath_prepend(str(tmp_path))
    compute = importlib.import_module(f"{pkg}.compute")
    yield pkg, root, compute
    for name in [m for m in sys.modules if m.startswith(pkg)]:
        del sys.modules[name]


def _reload(pkg: str):
    importlib.reload(sys.modules[f"{pkg}.helpers"])
    return importlib.reload(sys.modules[f"{pkg}.compute"])


def test_editing_a_helper_in_another_module_changes_the_code_version(project) -> None:
    pkg, root, compute = project
    before = code_version(compute.compute)
    assert set(code_parts([compute.compute])) == {f"module:{pkg}.compute", f"module:{pkg}.helpers"}
    (root / "helpers.py").write_text(HELPERS.replace("strip()", "strip().lower()"))
    assert code_version(_reload(pkg).compute) != before


def test_comments_and_layout_do_not_count_but_code_and_version_do(project) -> None:
    pkg, root, compute = project
    before = code_version(compute.compute)
    source = COMPUTE.format(pkg=pkg)
    (root / "compute.py").write_text(
        source.replace("# turn a key into a record", "# reworded comment\n\n")
    )
    assert code_version(_reload(pkg).compute) == before
    assert code_version(compute.compute, version="2") != before
    (root / "compute.py").write_text(source.replace('"key"', '"id"'))
    assert code_version(_reload(pkg).compute) != before


def test_wrapped_functions_hash_the_user_function(project) -> None:
    _, _, compute = project

    class FakeTask:  # what prefect.Task looks like to us: the user function in .fn
        fn = staticmethod(compute.compute)

    assert code_version(FakeTask()) == code_version(compute.compute)
    assert code_version("some text") != code_version("other text")
    with pytest.raises(TypeError):
        code_version(42)


def test_data_version_is_canonical() -> None:
    assert data_version({"a": 1, "b": [1, 2]}) == data_version({"b": [1, 2], "a": 1})
    assert data_version({"a": 1}) != data_version({"a": 2})
    assert data_version(b"raw bytes") == data_version(bytearray(b"raw bytes"))
    assert len(data_version("x")) == 64

    @dataclass
    class Row:
        day: date
        tags: set[str]

    assert data_version(Row(date(2026, 1, 1), {"b", "a"})) == data_version(
        {"day": "2026-01-01", "tags": ["a", "b"]}
    )
    with pytest.raises(TypeError):
        data_version(object())
