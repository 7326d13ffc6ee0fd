"""A real browser for the web app's end-to-end tests: Debian's chromium driven by Playwright
(headless; Playwright's own browser download is not used). Screenshots go to
build/screenshots/ (docs/web.md)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
VIEWPORT = {"width": 1280, "height": 720}  # the smallest laptop screen the app is made for


@contextmanager
def chromium() -> Iterator[Browser]:
    # As root, chromium refuses to start inside its sandbox.
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def new_page(browser: Browser) -> Iterator[Page]:
    """A fresh tab: its own sessionStorage, so nobody is signed in. Errors the page throws
    fail the test."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(10_000)
    try:
        yield page
    finally:
        context.close()
    assert not errors, errors


def sign_in(page: Page, url: str, secret: str) -> None:
    page.get_by_label("Project API secret").fill(secret)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Reports")).to_be_visible()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png")


def open_page(page: Page, name: str) -> None:
    """Follow the sidebar's link to a page."""
    page.get_by_role("navigation", name="Reports").get_by_role("link", name=name).click()


def choose(page: Page, label: str, value: str, scope: Any = None) -> None:
    """Type into a combobox and pick the option from its list."""
    box = (scope or page).get_by_role("combobox", name=label)
    box.click()
    box.fill(value)
    page.get_by_role("option", name=re.compile(f"^{re.escape(value)}")).first.click()


def set_dates(page: Page, first: object, last: object) -> None:
    page.get_by_label("Date range").select_option("custom")
    page.get_by_label("From", exact=True).fill(str(first))
    page.get_by_label("To", exact=True).fill(str(last))
    page.get_by_label("To", exact=True).blur()
