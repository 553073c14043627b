"""Code versions cover helpers (unlike Prefect's TASK_SOURCE); data versions are canonical."""

from __future__ import annotations

import importlib
import os
import subprocess
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


# --- the closure: what a function reaches, and where it stops --------------------------------

class Pkg:
    """A throwaway package under tmp_path; `PKG` in module sources stands for its name."""

    def __init__(self, root: Path) -> None:
        self.name = f"tfv_{uuid.uuid4().hex[:10]}"
        self.root = root / self.name
        self.root.mkdir()
        (self.root / "__init__.py").write_text("")

    def write(self, rel: str, source: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source.replace("PKG", self.name))
        importlib.invalidate_caches()  # a file created within the same second is found

    def load(self, module: str):
        return importlib.import_module(f"{self.name}.{module}")


@pytest.fixture
def pkg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # no stale .pyc after a quick edit
    made = Pkg(tmp_path)
    yield made
    for name in [m for m in sys.modules if m == made.name or m.startswith(made.name + ".")]:
        del sys.modules[name]


def _labels(*objs) -> set[str]:
    return set(code_parts(objs))


def test_a_module_reached_only_through_other_modules_is_covered(pkg: Pkg) -> None:
    pkg.write("tasks.py", "from PKG.lib.a import helper\n\ndef f():\n    return helper()\n")
    pkg.write("lib/__init__.py", "")
    pkg.write("lib/a.py", "from PKG.lib import b\n\ndef helper():\n    return b.deep() + 1\n")
    pkg.write("lib/b.py", "def deep():\n    return 1\n")
    pkg.write("other.py", "def unrelated():\n    return 0\n")
    f = pkg.load("tasks").f
    pkg.load("other")
    assert _labels(f) == {f"module:{pkg.name}.{m}" for m in ("tasks", "lib", "lib.a", "lib.b")}
    before = code_version(f)

    pkg.write("other.py", "def unrelated():\n    return 'edited'\n")
    assert code_version(f) == before
    pkg.write("lib/b.py", "def deep():\n    return 2 * 21\n")
    assert code_version(f) != before


def test_a_dependency_added_by_an_edit_is_followed(pkg: Pkg) -> None:
    # The walk is memoized; an edited and reloaded module must be walked again.
    pkg.write("a.py", "def helper():\n    return 1\n")
    pkg.write("extra.py", "def more():\n    return 2\n")
    pkg.write("tasks.py", "from PKG.a import helper\n\ndef f():\n    return helper()\n")
    tasks = pkg.load("tasks")
    assert f"module:{pkg.name}.extra" not in _labels(tasks.f)
    pkg.write("a.py", "from PKG.extra import more\n\ndef helper():\n    return more()\n")
    importlib.reload(sys.modules[f"{pkg.name}.a"])
    assert f"module:{pkg.name}.extra" in _labels(tasks.f)


@pytest.mark.parametrize("body", [
    "from PKG.inner import g\n    return g()",
    "from PKG import inner\n    return inner.g()",
    "import PKG.inner\n    return PKG.inner.g()",
    "from .inner import g\n    return g()",
])
def test_imports_inside_functions_are_covered(pkg: Pkg, body: str) -> None:
    pkg.write("inner.py", "def g():\n    return 1\n")
    pkg.write("tasks.py", f"def f():\n    {body}\n")
    f = pkg.load("tasks").f
    assert f"{pkg.name}.inner" not in sys.modules  # the walk has to import it itself
    assert f"module:{pkg.name}.inner" in _labels(f)
    before = code_version(f)
    pkg.write("inner.py", "def g():\n    return 'edited'\n")
    assert code_version(f) != before


def test_an_import_that_fails_is_skipped(pkg: Pkg) -> None:
    pkg.write("broken.py", "raise RuntimeError('cannot import me')\n")
    pkg.write("tasks.py", "def f():\n    from PKG.broken import x\n    from PKG.missing import y\n"
                          "    import no_such_module_anywhere\n    return x, y\n")
    f = pkg.load("tasks").f
    assert _labels(f) == {f"module:{pkg.name}.tasks"}
    assert len(code_version(f)) == 64


def test_the_runtime_is_not_hashed(pkg: Pkg) -> None:
    pkg.write("tasks.py", "from talentflow.partitions import versions as v\n"
                          "from talentflow.partitions.versions import data_version\n\n"
                          "def f(x):\n    from talentflow.db import connection\n"
                          "    return data_version(x), connection, v.code_version\n")
    assert _labels(pkg.load("tasks").f) == {f"module:{pkg.name}.tasks"}

    from talentflow.partitions import versions

    assert versions.RUNTIME_PACKAGES == (
        "talentflow.partitions", "talentflow.engine", "talentflow.db")


def test_installed_libraries_are_not_hashed_nor_imported(pkg: Pkg) -> None:
    lazy = "colorsys"  # a stdlib module nothing here imports
    was_imported = lazy in sys.modules
    pkg.write("tasks.py", "import numpy as np\nfrom numpy.linalg import norm\n"
                          "from unittest import mock\n\nFAKE = mock.MagicMock()\n\n"
                          f"def f():\n    import {lazy}\n    return np.zeros(2), norm, FAKE\n")
    assert _labels(pkg.load("tasks").f) == {f"module:{pkg.name}.tasks"}
    assert (lazy in sys.modules) == was_imported


def test_import_cycles_end(pkg: Pkg) -> None:
    pkg.write("c1.py", "from PKG import c2\n\ndef f():\n    return c2.g()\n")
    pkg.write("c2.py", "from PKG import c1\n\ndef g():\n    from PKG.c3 import h\n    return h()\n"
                       "\ndef back():\n    return c1.f()\n")
    pkg.write("c3.py", "def h():\n    from PKG.c1 import f\n    return f\n")
    f = pkg.load("c1").f
    assert _labels(f) == {f"module:{pkg.name}" + (f".{m}" if m else "") for m in
                          ("", "c1", "c2", "c3")}


# --- __main__: a script is a module; code without a file is followed through its names ------

SCRIPT = '''
from talentflow.partitions.versions import code_version


def h(x):
    return x + 1  # the helper


def f(x):
    return h(x) * 2


if __name__ == "__main__":
    print(code_version(f))
'''
REPO = Path(__file__).resolve().parents[2]


def _script_version(tmp_path: Path, source: str, *, as_file: bool) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if as_file:
        script = tmp_path / "script.py"
        script.write_text(source)
        args = [sys.executable, str(script)]
    else:
        args = [sys.executable, "-c", source]
    done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("as_file", [True, False], ids=["script", "python-c"])
def test_main_scripts_cover_their_helpers(tmp_path: Path, as_file: bool) -> None:
    before = _script_version(tmp_path, SCRIPT, as_file=as_file)
    assert len(before) == 64
    comment = SCRIPT.replace("# the helper", "# reworded\n\n")
    assert _script_version(tmp_path, comment, as_file=as_file) == before
    edited = SCRIPT.replace("x + 1", "x + 2")
    assert _script_version(tmp_path, edited, as_file=as_file) != before
