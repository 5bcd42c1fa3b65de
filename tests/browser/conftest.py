"""Browser fixtures: the portal served over real HTTP, and headless Debian Chromium driven by Playwright."""

import os
import shutil
from types import SimpleNamespace

import pytest

from tests.browser.stream_pages import long_video, signed_stream  # noqa: F401  (fixtures)
from tests.conftest import serving, shareable_database

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path():
    """Debian's chromium (Playwright's own browser download cannot work here)."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium for the session; skipped without one unless REQUIRE_BROWSER=1."""
    executable = chromium_path()
    if executable is None:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail("REQUIRE_BROWSER=1 but no chromium is installed")
        pytest.skip("no chromium installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def app(app_factory, tmp_path):
    """The portal for browser tests, on a database the server thread shares with the test."""
    app = app_factory(**shareable_database(tmp_path))
    with app.app_context():
        yield app


@pytest.fixture
def live_server(app):
    """The portal on a free loopback port."""
    with serving(app) as url:
        yield SimpleNamespace(url=url)


@pytest.fixture
def page(browser):
    """A fresh browser context and page per test."""
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()
