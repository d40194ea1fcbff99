"""A real browser for the console's tests: Debian's headless Chromium (`make browser` installs
it) driven by Playwright's async API, in the suite's session loop. Playwright's own browser
builds are never used (nor downloaded): it runs /usr/bin/chromium.

    async with launch(profile_dir) as browser:     # once per session (tests/console/conftest.py)
        async with open_page(browser) as page:     # per test: a fresh context, fresh cookies
            await page.goto(f"{url}/console")
            await page.fill("Token", token)
            await page.click("Sign in")
            assert "Deliveries" in await page.text()

Measured on this project's 2-core machine (Chromium 156, medians, load 5-7 from other work):
Playwright's driver and the browser start in 1.3-1.8 s, once per session; a fresh context and
page 0.2-0.4 s per test; a form round-trip on loopback (goto, fill, submit, read) 0.4-0.6 s; a
full-page screenshot 0.1 s.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Cookie,
    Locator,
    async_playwright,
)
from playwright.async_api import Page as PlaywrightPage

from tests.support.repo import REPO

CHROMIUM = Path("/usr/bin/chromium")
#: Without the background-networking ones Chromium keeps calling Google on a closed network.
#: Even with them it asks for accounts.google.com (ListAccounts) and update.googleapis.com (a
#: component it fetches on demand) about once a second: the resolver rule answers "no such
#: host" inside the browser for every name (and IP) but localhost and 127.0.0.1, where the tests
#: serve, so not even a DNS query leaves it.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
)
#: Milliseconds any one action or navigation may take before the test fails.
TIMEOUT_MS = 10_000
DOC_SCREENSHOTS = REPO / "docs" / "console"
DOC_SCREENSHOTS_ENV = "HOOKTIDE_DOC_SCREENSHOTS"


def require_chromium(executable: Path = CHROMIUM) -> Path:
    """`executable`, or the test fails (never skips: a skipped browser test would hide a
    broken console) saying how to install it."""
    if not os.access(executable, os.X_OK):
        pytest.fail(
            f"Debian's Chromium is not installed at {executable}: run `make browser` "
            "(apt-get install chromium chromium-driver); the console's browser tests need it.",
            pytrace=False,
        )
    return executable


@asynccontextmanager
async def launch(profile: Path, executable: Path = CHROMIUM) -> AsyncIterator[Browser]:
    """Chromium on an empty profile directory of its own (`profile`), until the block ends."""
    require_chromium(executable)
    async with async_playwright() as playwright:
        persistent = await playwright.chromium.launch_persistent_context(
            profile, executable_path=executable, args=list(FLAGS), headless=True
        )
        browser = persistent.browser
        assert browser is not None, "Playwright gave a persistent context without its browser"
        try:
            yield browser
        finally:
            await persistent.close()


class Page:
    """One tab in a context of its own. `raw` is Playwright's page for anything not here;
    `errors` collects the page's uncaught script errors and console errors, each with the URL
    it came from (a Content-Security-Policy refusal or a failed load shows there; the
    browser's own ask for /favicon.ico does not)."""

    def __init__(self, context: BrowserContext, raw: PlaywrightPage) -> None:
        self.context = context
        self.raw = raw
        self.errors: list[str] = []
        raw.on("pageerror", lambda error: self.errors.append(f"{error} ({raw.url})"))
        raw.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        source = message.location.get("url", "")
        if message.type == "error" and not source.endswith("/favicon.ico"):
            self.errors.append(f"{message.text} ({source})")

    @property
    def url(self) -> str:
        return self.raw.url

    async def goto(self, url: str) -> int:
        """Load `url` (following redirects); the final response's status, whatever it is."""
        response = await self.raw.goto(url, wait_until="load")
        assert response is not None, f"no response for {url}"
        return response.status

    async def fill(self, label: str, value: str) -> None:
        """Type `value` into the field labelled exactly `label`."""
        await self.raw.get_by_label(label, exact=True).fill(value)

    async def fill_css(self, selector: str, value: str) -> None:
        await self.raw.locator(selector).fill(value)

    async def click(self, name: str) -> None:
        """Click the button or link named exactly `name` (its text, label or value), then
        wait for the page it may have loaded."""
        await self._click(
            self.raw.get_by_role("button", name=name, exact=True).or_(
                self.raw.get_by_role("link", name=name, exact=True)
            )
        )

    async def click_css(self, selector: str) -> None:
        await self._click(self.raw.locator(selector))

    async def _click(self, target: Locator) -> None:
        await target.click()
        await self.raw.wait_for_load_state("load")

    async def text(self) -> str:
        """What a person reads on the page: the body's rendered text."""
        return await self.raw.locator("body").inner_text()

    async def html(self) -> str:
        """The page's markup as the browser holds it now."""
        return await self.raw.content()

    async def cookie(self, name: str) -> Cookie | None:
        """This context's cookie `name` for the page's site, HttpOnly ones included."""
        found = [c for c in await self.context.cookies(self.raw.url) if c.get("name") == name]
        return found[0] if found else None

    async def screenshot(self, path: Path) -> Path:
        """The whole page as a PNG at `path`."""
        path.parent.mkdir(parents=True, exist_ok=True)
        await self.raw.screenshot(path=path, full_page=True)
        return path


@asynccontextmanager
async def open_page(browser: Browser) -> AsyncIterator[Page]:
    """A page in a new context: no cookies, storage or cache from any other."""
    context = await browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    try:
        yield Page(context, await context.new_page())
    finally:
        await context.close()


async def save_doc_screenshot(
    page: Page, name: str, directory: Path = DOC_SCREENSHOTS
) -> Path | None:
    """docs/console/<name>.png of `page`, only when HOOKTIDE_DOC_SCREENSHOTS=1 (so a test run
    leaves the repository as it was); None when not asked for."""
    if os.environ.get(DOC_SCREENSHOTS_ENV) != "1":
        return None
    return await page.screenshot(directory / f"{name}.png")
