"""Every test run has its own Prefect home and state folder, whatever the shell exported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Set only by the outer test below: where the inner run reports what it saw.
_REPORT = "TALENTFLOW_ISOLATION_REPORT"


def test_the_session_owns_prefect_home_and_state() -> None:
    from prefect.settings import get_current_settings

    from talentflow import config

    home = Path(os.environ["PREFECT_HOME"])
    assert home.name == "prefect" and home.parent.name.startswith("tf-tests-")
    assert Path(get_current_settings().home) == home
    assert Path(os.environ["TALENTFLOW_HOME"]).parent == home.parent
    assert config.state_dir() == home.parent / "state"
    assert "PREFECT_API_URL" not in os.environ
    report = os.environ.get(_REPORT)
    if report:  # run inside the test below: tell it what this session used
        Path(report).write_text(json.dumps({
            "prefect_home": str(home),
            "settings_home": str(get_current_settings().home),
            "state_dir": str(config.state_dir()),
            "api_url": get_current_settings().api.url,
            "pid": os.getpid(),
        }))


def test_an_exported_prefect_home_does_not_leak_into_the_suite(tmp_path: Path) -> None:
    """A developer's exported PREFECT_HOME, PREFECT_API_URL and TALENTFLOW_HOME: a pytest run
    started under them uses its own folders, writes nothing into the developer's, and sends
    nothing to the developer's API."""
    prefect_home = tmp_path / "developer-prefect-home"
    state = tmp_path / "developer-state"
    prefect_home.mkdir()
    state.mkdir()
    (prefect_home / "profiles.toml").write_text(
        'active = "dev"\n[profiles.dev]\nPREFECT_API_URL = "http://127.0.0.1:9/api"\n')
    report = tmp_path / "report.json"
    env = {**os.environ, "PREFECT_HOME": str(prefect_home),
           "PREFECT_API_URL": "http://127.0.0.1:9/api", "PREFECT_PROFILES_PATH":
           str(prefect_home / "profiles.toml"), "TALENTFLOW_HOME": str(state),
           "TALENTFLOW_TEST_HOME": str(tmp_path / "sessions"), _REPORT: str(report),
           "PYTHONPATH": str(ROOT)}
    (tmp_path / "sessions").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_isolation.py::test_the_session_owns_prefect_home_and_state"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout
    seen = json.loads(report.read_text())
    session = Path(seen["prefect_home"]).parent
    # The inner run had a session folder of its own, named after its own process...
    assert session.parent == tmp_path / "sessions" and session.name == f"tf-tests-{seen['pid']}"
    assert seen["settings_home"] == seen["prefect_home"]
    assert seen["state_dir"] == str(session / "state")
    # ... never the exported ones, nor the exported API or the profile's.
    assert seen["api_url"] in (None, "")
    assert list(prefect_home.iterdir()) == [prefect_home / "profiles.toml"]
    assert list(state.iterdir()) == []
    # And it removed its session folder when it ended.
    assert not session.exists()
