"""Every test run has its own Prefect home and state folder, whatever the shell exported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_session_owns_prefect_home_and_state() -> None:
    from prefect.settings import get_current_settings

    home = Path(os.environ["PREFECT_HOME"])
    assert home.name == "prefect" and home.parent.name.startswith("tf-tests-")
    assert Path(get_current_settings().home) == home
    assert Path(os.environ["TALENTFLOW_HOME"]).parent == home.parent
    assert "PREFECT_API_URL" not in os.environ


def test_an_exported_prefect_home_does_not_leak_into_the_suite(tmp_path: Path) -> None:
    mine = tmp_path / "developer-prefect-home"
    mine.mkdir()
    env = {**os.environ, "PREFECT_HOME": str(mine), "PREFECT_API_URL": "http://10.0.0.1/api",
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_isolation.py::test_the_session_owns_prefect_home_and_state"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert list(mine.iterdir()) == []  # nothing was written to the developer's home
