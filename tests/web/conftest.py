"""One headless chromium per test module of the web app, a fresh tab per test. Not one per
session: Playwright's sync API keeps an event loop running on the main thread while the
browser is open, and other modules' tests call asyncio.run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.web.browser import chromium, new_page


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as found:
        yield found


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with new_page(browser) as found:
        yield found
