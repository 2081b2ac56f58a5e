"""Browser fixtures: Debian's Chromium driven by Playwright, a page per test, screenshots on disk."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.support.server import ServerProcess

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def one_try_server(make_database: Callable[[], str], session_dir: Path) -> Iterator[ServerProcess]:
    """A server that gives up on a delivery after its first failed attempt (to test recovery)."""
    proc = ServerProcess(make_database(), session_dir, {"HOOKHUB_RETRY_SCHEDULE": "0"}).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def browser(server: ServerProcess, one_try_server: ServerProcess) -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop running in this thread while the browser is open,
    # so servers whose PostgreSQL database is made with asyncio.run must exist first, and the
    # browser closes after each module so that later tests (asyncio.run, async tests) are unaffected.
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-test-deps")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (own sessionStorage); any uncaught script error fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, server: ServerProcess, view: str = "/") -> None:
    page.goto(f"{server.url}/ui#{view}")
    page.fill("#sign-in input[name=token]", server.token)
    page.click("#sign-in button[type=submit]")
    page.wait_for_selector("#nav:not([hidden])")
