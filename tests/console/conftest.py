"""The console's browser: one headless Chromium for the session (`browser`), a fresh context
and page for each test (`page`: no cookies from another test). Without /usr/bin/chromium the
tests fail, naming `make browser`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser

from tests.support.browser import Page, launch, open_page


@pytest.fixture(scope="session")
async def browser(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Browser]:
    async with launch(tmp_path_factory.mktemp("chromium-profile")) as chromium:
        yield chromium


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    async with open_page(browser) as tab:
        yield tab
