"""A real browser for the web app's end-to-end tests: Debian's chromium driven by Playwright
(headless; Playwright's own browser download is not used), and the steps the tests share:
signing in, saving a report and reopening its link, reading what a page shows. Screenshots
go to build/screenshots/ (docs/web.md)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

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


def sign_in(page: Page, secret: str) -> None:
    """Answer the sign-in form the page shows with a project's secret."""
    page.get_by_label("Project API secret").fill(secret)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Reports")).to_be_visible()


def open_app(page: Page, url: str, secret: str, name: str | None = None) -> None:
    """Open the app, sign in, and follow the sidebar to the page `name` when given."""
    page.goto(url)
    sign_in(page, secret)
    if name:
        open_page(page, name)


@contextmanager
def reopened(page: Page, link: str, secret: str) -> Iterator[Page]:
    """The link alone in a fresh tab, not signed in: it asks for its project's secret, then
    opens the same URL."""
    project = re.findall(r"#/p/(\d+)/", link)[0]
    assert page.context.browser
    with new_page(page.context.browser) as other:
        other.goto(link)
        expect(other.get_by_text(f"This link opens project {project}")).to_be_visible()
        sign_in(other, secret)
        expect(other).to_have_url(link)
        yield other


def save_report(page: Page, name: str) -> str:
    """Save the page's report as a new one named `name`; returns its link."""
    page.get_by_role("button", name="Save report").click()
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".page-header .subtitle")).to_have_text(f"Saved report: {name}")
    expect(page).to_have_url(re.compile(r"report=\d+"))
    return page.url


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
    """Custom dates in the report's toolbar."""
    page.get_by_label("Date range").select_option("custom")
    page.get_by_label("From", exact=True).fill(str(first))
    page.get_by_label("To", exact=True).fill(str(last))
    page.get_by_label("To", exact=True).blur()


def expect_chart(scope: Page | Locator) -> None:
    """A plotly chart is drawn in `scope`."""
    expect(scope.locator(".chart .plot .main-svg").first).to_be_visible()


def until(read: Callable[[], Any], expected: Any, timeout_s: float = 10) -> None:
    """Wait until what the page shows (`read()`) is `expected`."""
    deadline = time.monotonic() + timeout_s
    while (found := read()) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert found == expected


def attributes(page: Page, selector: str, attribute: str) -> list[str]:
    """`attribute` of every element `selector` finds, in document order."""
    found: list[str] = page.locator(selector).evaluate_all(
        f"els => els.map(e => e.getAttribute('{attribute}'))"
    )
    return found
