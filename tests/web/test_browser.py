"""The web app end to end, in a real browser against a live `trackway serve`: sign-in and
project switching, the live view fed by the official Python SDK, an Insights report whose
numbers are the API's, a saved report reopened from its URL and shown on a dashboard, and a
bad expression's error said plainly."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from mixpanel import Consumer, Mixpanel
from playwright.sync_api import Page, expect

from tests.api.test_behaviour_api import native, ok
from tests.live_server import LiveServer, make_project, running_server
from tests.query.store import event, store
from tests.web.browser import (
    choose,
    expect_chart,
    open_app,
    open_page,
    reopened,
    save_report,
    screenshot,
    set_dates,
    sign_in,
)
from trackway.projects import Project

pytestmark = pytest.mark.slow

# Ten days ending yesterday: the pickers offer what the last 31 days hold.
FIRST_DAY = datetime.now(UTC).date() - timedelta(days=10)
WEEK_END = FIRST_DAY + timedelta(days=6)
LAST_DAY = FIRST_DAY + timedelta(days=9)
BROWSERS = ["Chrome", "Firefox", "Safari"]


def _stored() -> list[dict[str, Any]]:
    """Views and buys of 12 users over ten days, with a browser each."""
    out = []
    for i in range(300):
        day = FIRST_DAY + timedelta(days=i % 10)
        time_ms = int(datetime.combine(day, datetime.min.time(), UTC).timestamp() * 1000)
        name = "Buy" if i % 7 == 0 else "View"
        props = {"browser": BROWSERS[i % 3], "price": i % 50}
        out.append(event(name, f"u{i % 12}", time_ms + i * 60_000, f"e{i}", time_ms, **props))
    return out


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveServer, Project, Project]]:
    data_dir = tmp_path_factory.mktemp("web")
    shop = make_project(data_dir, "Shop")
    store(data_dir, shop, [_stored()], [])
    blog = make_project(data_dir, "Blog")
    with running_server(data_dir, env={"TRACKWAY_STORAGE_POLL_MS": "50"}) as server:
        yield server, shop, blog


def test_sign_in_and_switch_projects(
    served: tuple[LiveServer, Project, Project], page: Page
) -> None:
    server, shop, blog = served
    page.goto(server.url)
    screenshot(page, "sign-in")
    page.get_by_label("Project API secret").fill("not-a-secret")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("This secret opens no project.")
    sign_in(page, shop.secret)
    switcher = page.get_by_label("Project")
    expect(switcher.locator("option:checked")).to_have_text("Shop")
    expect(page.locator(".page-header .subtitle")).to_contain_text("Shop")
    switcher.select_option(label="Add a project…")
    expect(page.get_by_role("heading", name="Add a project")).to_be_visible()
    sign_in(page, blog.secret)
    expect(page.locator(".page-header .subtitle")).to_contain_text("Blog")
    expect(page).to_have_url(re.compile(f"#/p/{blog.id}/events"))
    page.get_by_label("Project").select_option(label="Shop")
    expect(page).to_have_url(re.compile(f"#/p/{shop.id}/events"))
    expect(page.locator(".page-header .subtitle")).to_contain_text("Shop")
    # The secrets live in this tab's sessionStorage only.
    stored = page.evaluate("() => JSON.parse(sessionStorage.getItem('trackway.projects'))")
    assert [p["name"] for p in stored] == ["Shop", "Blog"]
    assert page.evaluate("() => localStorage.length") == 0


def test_live_view_shows_events_sent_with_the_sdk(
    served: tuple[LiveServer, Project, Project], page: Page
) -> None:
    server, _, _ = served
    project = make_project(server.data_dir, "Live")
    open_app(page, server.url, project.secret)
    expect(page.get_by_text("Waiting for events")).to_be_visible()
    host = server.url
    consumer = Consumer(
        events_url=f"{host}/track", people_url=f"{host}/engage", import_url=f"{host}/import"
    )
    mixpanel = Mixpanel(project.token, consumer=consumer)
    names = [f"Signed up {i}" for i in range(3)]
    for name in names:
        mixpanel.track("alice", name, {"plan": "pro"})
    rows = page.locator(".live-table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first.locator(".event-name")).to_have_text(names[-1])
    expect(rows.first).to_contain_text("alice")
    expect(rows.first).to_contain_text("plan")
    # A later event comes on top, without reloading.
    mixpanel.track("bob", "Upgraded", {"plan": "team"})
    expect(rows).to_have_count(4)
    expect(rows.first.locator(".event-name")).to_have_text("Upgraded")
    expect(page.locator("#lexicon-title")).to_be_visible()
    page.get_by_role("button", name="Upgraded").click()
    page.get_by_role("button", name="plan").click()
    expect(page.get_by_role("table").filter(has_text="Top values of plan")).to_contain_text("team")
    screenshot(page, "events")


def test_insights_numbers_are_the_apis(
    served: tuple[LiveServer, Project, Project], page: Page
) -> None:
    server, shop, _ = served
    open_app(page, server.url, shop.secret, "Insights")
    metric = page.get_by_role("group", name="Metric A")
    choose(page, "Event", "View", metric)
    metric.get_by_label("Measure").select_option("unique")
    page.get_by_role("button", name="+ Add breakdown").click()
    choose(page, "Break down by", "browser")
    set_dates(page, FIRST_DAY, WEEK_END)
    page.get_by_label("Interval").select_option("week")
    page.get_by_role("button", name="Table").click()
    table = page.locator("table[data-table=series]")
    expect(table.locator("tbody tr")).to_have_count(3)
    spec = {
        "from_date": str(FIRST_DAY),
        "to_date": str(WEEK_END),
        "unit": "week",
        "metrics": [{"event": "View", "measure": "unique", "name": "A"}],
        "breakdowns": [{"property": "browser"}],
        "limit": 10,
    }
    expected = ok(native(server, shop, "POST", "/insights", spec))
    shown = {}
    for row in table.locator("tbody tr").all():
        cells = [float(c.replace(",", "")) for c in row.locator("td").all_inner_texts()]
        shown[row.get_attribute("data-series")] = cells
    assert shown == {s["segment"][0]: [s["total"], *s["values"]] for s in expected["series"]}
    headers = table.locator("thead th").all_inner_texts()
    assert headers == ["Series", "Total", *expected["buckets"]]
    newest = f"Data to {WEEK_END.strftime('%d %b %Y')}"
    expect(page.locator(".chart-head .freshness")).to_contain_text(newest)
    page.get_by_role("button", name="Line").click()
    expect_chart(page)
    screenshot(page, "insights")


def test_a_saved_report_reopens_from_its_url_and_on_a_dashboard(
    served: tuple[LiveServer, Project, Project], page: Page
) -> None:
    server, shop, _ = served
    open_app(page, server.url, shop.secret, "Insights")
    choose(page, "Event", "Buy", page.get_by_role("group", name="Metric A"))
    set_dates(page, FIRST_DAY, LAST_DAY)
    page.get_by_role("button", name="Bar").click()
    expect(page.locator("table[data-table=totals] td[data-value]")).to_have_text("43")
    link = save_report(page, "Buys this week")

    # The link alone, in a fresh tab: sign in, and the same report opens.
    with reopened(page, link, shop.secret) as other:
        expect(other.get_by_role("combobox", name="Event")).to_have_value("Buy")
        expect(other.get_by_role("button", name="Bar")).to_have_attribute("aria-pressed", "true")
        expect(other.locator("table[data-table=totals] td[data-value]")).to_have_text("43")
        expect(other.locator(".page-header .subtitle")).to_have_text("Saved report: Buys this week")

    open_page(page, "Dashboards")
    page.get_by_role("button", name="New dashboard").click()
    page.get_by_label("Name").fill("Sales")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("heading", name="Sales")).to_be_visible()
    page.get_by_label("Saved report").select_option(label="Buys this week (insights)")
    page.get_by_role("button", name="Add to dashboard").click()
    tile = page.locator("article.tile")
    expect(tile.get_by_role("link", name="Buys this week")).to_be_visible()
    expect_chart(tile)
    expect(tile.locator(".freshness")).to_contain_text("Data to")
    screenshot(page, "dashboards")
    tile.get_by_role("link", name="Buys this week").click()
    expect(page.locator(".page-header .subtitle")).to_have_text("Saved report: Buys this week")


def test_a_bad_expression_is_shown_plainly(
    served: tuple[LiveServer, Project, Project], page: Page
) -> None:
    server, shop, _ = served
    open_app(page, server.url, shop.secret, "Insights")
    expect(page.locator(".chart .plot").first).to_be_attached()
    page.get_by_label("Custom filter expression").fill('properties["browser"] ==')
    page.get_by_label("Custom filter expression").blur()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The report could not run")
    expect(alert).to_contain_text("Expected")
    screenshot(page, "insights-error")
    page.get_by_label("Custom filter expression").fill('properties["browser"] == "Chrome"')
    page.get_by_label("Custom filter expression").blur()
    expect(alert).to_have_count(0)
