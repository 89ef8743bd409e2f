"""Real headless Chromium (Debian's, never a downloaded one) driven by Playwright against `live_server`."""

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from accounts.demo import seed

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def browser() -> Browser:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps` (browser tests use Debian's Chromium).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, live_server) -> Page:
    """A fresh browser context (no cookies) per test, French, with relative URLs resolved on the live server."""
    context = browser.new_context(base_url=live_server.url, locale="fr-FR", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def browser_personas(transactional_db):
    """The demo personas, committed so the live server's thread sees them."""
    return seed()
