"""The partition view where operators look: the Prefect UI itself, in headless Chromium.

A real `prefect server start` with its UI, a real materialize run reporting to it, then the
browser opens (1) the asset's `partitions-<asset>` artifact and finds the status picture and
the typed reasons rendered, and (2) the flow run page and finds task runs named after asset
and key and log lines carrying the partition key. Chromium is Debian's (`make test` installs
it when missing); Playwright drives it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from talentflow.serving import server as prefect_server
from tests.e2e.conftest import _database_url
from tests.support import checked_project as project

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
# Chromium as this machine's probe starts it: no network but localhost (see the Makefile).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
PAGE_TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def ui_server(pg_server_url: str, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[prefect_server.PrefectServer]:
    name = f"prefect_ui_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    libpq = _database_url(pg_server_url, name)
    srv = prefect_server.start(home=tmp_path_factory.mktemp("ui"), ui=True,
                               database_url="postgresql+asyncpg://" + libpq.split("://", 1)[1])
    try:
        yield srv
    finally:
        srv.stop()
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "Chromium is missing: `make test` installs it (apt chromium)"
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def test_the_partition_view_and_the_run_page_render_in_the_prefect_ui(
        db: str, ui_server: prefect_server.PrefectServer, browser) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from talentflow.engine import materialize

    project.create_tables(db, min_len=4)
    project.put_docs(db, {"alpha": "alpha text", "tiny": "no", "gamma": "gamma text"})
    with temporary_settings(updates={PREFECT_API_URL: ui_server.api_url}):
        report = materialize(project.defs, ["tidy_docs"])
    assert report.flow_run_id and report.assets["tidy_docs"].check_failed
    ui = ui_server.api_url.removesuffix("/api")
    page = browser.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)

    # The key's page lists its versions; the newest opens the view itself.
    page.goto(f"{ui}/artifacts/key/partitions-tidy-docs")
    page.locator("a[href*='/artifacts/artifact/']").first.click()
    picture = page.locator("img[src^='data:image/svg+xml']").first
    picture.wait_for(state="visible")
    assert picture.evaluate("img => img.complete && img.naturalWidth > 0")  # the SVG decoded
    page.get_by_text("check failed: long_enough").first.wait_for(state="visible")
    assert page.get_by_text("tiny", exact=True).count() >= 1

    page.goto(f"{ui}/runs/flow-run/{report.flow_run_id}")
    # Logs (the default tab) carry the keys the checks failed on.
    page.get_by_text("check long_enough failed (blocking) on 1 key(s) (tiny)").first.wait_for(
        state="visible")
    page.goto(f"{ui}/runs/flow-run/{report.flow_run_id}?tab=Task+Runs")
    page.get_by_text("tidy_docs[alpha…tiny (3 keys)]").first.wait_for(state="visible")
    page.get_by_text("check:long_enough[alpha…tiny (3 keys)]").first.wait_for(state="visible")
