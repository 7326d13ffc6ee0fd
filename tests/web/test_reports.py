"""The behavioural pages end to end, in a real browser against a live `trackway serve`: a
funnel built in the builder shows the API's step counts and drop-offs, and its drop-offs
become a cohort of exactly those users; a saved funnel reopens from its URL, and every
report kind draws as a dashboard tile; the retention heat map has the API's cohorts; the
flows Sankey draws the API's nodes; a cohort made in the form counts what /cohorts/list
counts and filters a report."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.api.test_behaviour_api import get, native, ok
from tests.live_server import LiveServer, make_project, running_server
from tests.query.store import store, write_profiles
from tests.web.browser import (
    attributes,
    choose,
    expect_chart,
    open_app,
    open_page,
    reopened,
    save_report,
    screenshot,
    set_dates,
    until,
)
from tests.web.shop import first_day, last_day, shop_events, shop_profiles
from trackway.projects import Project

pytestmark = pytest.mark.slow

FIRST, LAST = first_day(), last_day()
DAYS = {"from_date": str(FIRST), "to_date": str(LAST)}
STEPS = ["Page View", "Add to Cart", "Purchase"]
Shop = tuple[LiveServer, Project]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    data_dir = tmp_path_factory.mktemp("web-reports")
    project = make_project(data_dir, "Shop")
    store(data_dir, project, [shop_events()], [])
    write_profiles(data_dir, project, "engage", shop_profiles())
    with running_server(data_dir, env={"TRACKWAY_STORAGE_POLL_MS": "50"}) as server:
        yield server, project


def _open(page: Page, shop: Shop, name: str) -> None:
    open_app(page, shop[0].url, shop[1].secret, name)


def _post(shop: Shop, path: str, body: dict[str, Any]) -> Any:
    return ok(native(shop[0], shop[1], "POST", path, body))


FUNNEL = {
    **DAYS,
    "steps": [{"event": e} for e in STEPS],
    "order": "loose",
    "window": {"length": 30, "unit": "day"},
    "counting": "uniques",
}


def _build_funnel(page: Page) -> None:
    choose(page, "Step 1", STEPS[0])
    choose(page, "Step 2", STEPS[1])
    page.get_by_role("button", name="+ Add step").click()
    choose(page, "Step 3", STEPS[2])
    set_dates(page, FIRST, LAST)


def _step_counts(page: Page) -> list[int]:
    cells = "table[data-table=funnel-steps] td[data-column=count]"
    return [int(v) for v in attributes(page, cells, "data-value")]


def test_a_funnel_shows_the_apis_steps_and_drop_offs(shop: Shop, page: Page) -> None:
    _open(page, shop, "Funnels")
    expect(page.get_by_text("Choose the event of step 1")).to_be_visible()
    _build_funnel(page)
    expected = _post(shop, "/funnels", FUNNEL)
    until(lambda: _step_counts(page), [s["count"] for s in expected["steps"]])
    expect_chart(page)
    expect(page.locator(".chart-head .freshness")).to_contain_text("Data to")
    screenshot(page, "funnels")

    page.locator("button[data-drop-step='1']").click()
    dropped = _post(shop, "/funnels", {**FUNNEL, "drop_offs": {"step": 1, "limit": 10_000}})
    users = dropped["drop_offs"]["users"]
    assert (
        dropped["drop_offs"]["total"]
        == expected["steps"][0]["count"] - expected["steps"][1]["count"]
    )
    rows = page.locator("table[data-table=drop-offs] tbody td")
    expect(rows).to_have_text(users[:50])
    expect(page.locator(".drop-offs [data-total]")).to_have_attribute("data-total", str(len(users)))
    page.locator(".drop-offs").get_by_role("button", name="Next").click()
    expect(rows).to_have_text(users[50:100])
    page.locator(".drop-offs").get_by_role("button", name="Save as cohort").click()
    page.get_by_role("dialog").get_by_label("Name").fill("Viewed, never carted")
    page.get_by_role("dialog").get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".saved-note")).to_contain_text("Viewed, never carted")
    page.locator(".drop-offs .panel").scroll_into_view_if_needed()
    screenshot(page, "funnels-drop-offs")

    listed = ok(get(shop[0], shop[1], "/api/2.0/cohorts/list"))
    (cohort,) = [c for c in listed if c["name"] == "Viewed, never carted"]
    assert cohort["count"] == len(users)
    path = f"/cohorts/{cohort['id']}/users?page_size=10000"
    members = ok(native(shop[0], shop[1], "GET", path))["results"]
    assert [m["distinct_id"] for m in members] == users

    page.get_by_role("button", name="Time to convert").click()
    expect(page.get_by_label("Time between")).to_be_visible()
    expect_chart(page)
    page.get_by_role("button", name="Over time").click()
    page.get_by_label("Interval").select_option("week")
    trend = _post(shop, "/funnels", {**FUNNEL, "unit": "week"})["over_time"]
    buckets = "table[data-table=funnel-trend] tbody tr"
    until(lambda: attributes(page, buckets, "data-bucket"), trend["buckets"])


def test_a_saved_funnel_reopens_from_its_url_and_every_kind_draws_on_a_dashboard(
    shop: Shop, page: Page
) -> None:
    project = shop[1]
    _open(page, shop, "Funnels")
    _build_funnel(page)
    counts = [s["count"] for s in _post(shop, "/funnels", FUNNEL)["steps"]]
    until(lambda: _step_counts(page), counts)
    link = save_report(page, "Checkout funnel")
    with reopened(page, link, project.secret) as other:
        expect(other.get_by_role("combobox", name="Step 3")).to_have_value(STEPS[2])
        until(lambda: _step_counts(other), counts)

    report_id = int(re.findall(r"report=(\d+)", link)[0])
    # Saved from the page, it is one of Mixpanel's saved funnels, and runs by its id.
    server, project = shop
    assert {"funnel_id": report_id, "name": "Checkout funnel"} in ok(
        get(server, project, "/api/2.0/funnels/list")
    )
    days = (LAST - FIRST).days + 1  # one bucket: the whole range
    by_id = ok(get(server, project, "/api/2.0/funnels", funnel_id=report_id, interval=days, **DAYS))
    assert [s["count"] for s in by_id["data"][str(FIRST)]["steps"]] == counts
    states = {
        "retention": {"born": {"event": "Page View"}, "unit": "day", "periods": 5},
        "flows": {"anchor": {"event": "Add to Cart"}, "steps": 3},
    }
    ids = [report_id]
    for kind, state in states.items():
        body = {"name": f"Shop {kind}", "kind": kind, "state": {**state, "range": {"last": 30}}}
        ids.append(_post(shop, "/reports", body)["report_id"])
    _post(shop, "/dashboards", {"name": "Shop health", "report_ids": ids})
    open_page(page, "Dashboards")
    page.get_by_role("link", name="Shop health").click()
    tiles = page.locator("article.tile")
    expect(tiles).to_have_count(3)
    for tile in tiles.all():
        expect_chart(tile)
        expect(tile.locator(".freshness")).to_contain_text("Data to")
    screenshot(page, "dashboards-behaviour")


def test_the_retention_heat_map_has_the_apis_cohorts(shop: Shop, page: Page) -> None:
    _open(page, shop, "Retention")
    choose(page, "First event", "Page View")
    page.get_by_label("Unit", exact=True).select_option("day")
    page.get_by_label("Periods", exact=True).fill("7")
    page.get_by_label("Periods", exact=True).press("Tab")
    set_dates(page, FIRST, LAST)
    spec = {**DAYS, "born": {"event": "Page View"}, "returning": {}, "unit": "day", "periods": 7}
    expected = _post(shop, "/retention", {**spec, "retention_type": "first_time", "mode": "on"})
    rows = "table[data-table=retention] tbody tr"
    sizes = [str(expected["total"]["size"])] + [str(c["size"]) for c in expected["cohorts"]]
    cohorts = ["all"] + [c["cohort"] for c in expected["cohorts"]]
    until(
        lambda: (
            attributes(page, rows, "data-cohort"),
            attributes(page, f"{rows} td[data-size]", "data-size"),
        ),
        (cohorts, sizes),
    )
    first = expected["cohorts"][0]
    row = page.locator(f"{rows}[data-cohort='{first['cohort']}'] td.heat")
    assert [
        int(v)
        for v in attributes(page, f"{rows}[data-cohort='{first['cohort']}'] td.heat", "data-count")
    ] == first["counts"][: row.count()]
    expect_chart(page)
    screenshot(page, "retention")


def test_the_flows_sankey_draws_the_apis_nodes(shop: Shop, page: Page) -> None:
    _open(page, shop, "Flows")
    choose(page, "Anchor event", "Page View")
    page.get_by_label("Steps", exact=True).select_option("3")
    set_dates(page, FIRST, LAST)
    spec = {**DAYS, "anchor": {"event": "Page View"}, "direction": "after", "steps": 3}
    expected = _post(
        shop, "/flows", {**spec, "collapse_repeats": False, "counting": "uniques", "top": 6}
    )
    nodes = sorted((str(n["step"]), n["event"], str(n["count"])) for n in expected["nodes"])
    rows = "table[data-table=flow-nodes] tbody tr"

    def shown() -> list[tuple[str, str, str]]:
        # One read of the table: the page may draw it again between two reads.
        found: list[list[str]] = page.locator(rows).evaluate_all(
            "rows => rows.map(r => [r.dataset.step, r.dataset.event,"
            " r.querySelector('td[data-value]').dataset.value])"
        )
        return sorted((step, event, count) for step, event, count in found)

    until(shown, nodes)
    expect(page.locator(".chart .sankey .sankey-node")).to_have_count(len(nodes))
    expect(page.locator(".chart .sankey .sankey-link")).to_have_count(len(expected["links"]))
    screenshot(page, "flows")


def test_a_cohort_made_in_the_form_counts_as_the_api_and_filters_a_report(
    shop: Shop, page: Page
) -> None:
    _open(page, shop, "Cohorts")
    page.get_by_role("button", name="New cohort").click()
    page.get_by_label("Name", exact=True).fill("Buyers")
    page.get_by_label("Description").fill("bought at least once")
    condition = page.get_by_role("group", name="Condition 1")
    choose(page, "Event", "Purchase", condition)
    condition.get_by_label("When").select_option("ever")
    page.get_by_role("button", name="Save cohort").click()
    expect(page.get_by_role("heading", name="Buyers")).to_be_visible()

    listed = ok(get(shop[0], shop[1], "/api/2.0/cohorts/list"))
    (buyers,) = [c for c in listed if c["name"] == "Buyers"]
    bought = {e["properties"]["distinct_id"] for e in shop_events() if e["event"] == "Purchase"}
    assert buyers["count"] == len(bought)
    row = page.locator(f"table[data-table=cohorts] tr[data-cohort-id='{buyers['id']}']")
    expect(row.locator("td[data-count]")).to_have_attribute("data-count", str(len(bought)))
    expect(page.locator(".members [data-total]")).to_have_attribute("data-total", str(len(bought)))
    expect(page.locator("table[data-table=cohort-users] tbody tr")).to_have_count(
        min(50, len(bought))
    )
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    exported = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert sorted(r["distinct_id"] for r in exported) == sorted(bought)
    assert {r["plan"] for r in exported} <= {"", "free", "pro", "team"}
    expect(page.locator(".toast")).to_have_count(0)
    screenshot(page, "cohorts")
    page.get_by_role("button", name="Edit").click()
    expect(page.get_by_role("heading", name="Edit Buyers")).to_be_visible()
    page.get_by_role("button", name="+ Add condition").click()
    second = page.get_by_role("group", name="Condition 2")
    second.get_by_label("Kind").select_option("profile")
    screenshot(page, "cohorts-edit")
    page.get_by_role("button", name="Cancel").click()

    page.get_by_role("link", name="Filter Insights by it").click()
    expect(page.get_by_label("Cohort", exact=True).locator("option:checked")).to_have_text("Buyers")
    metric = page.get_by_role("group", name="Metric A")
    choose(page, "Event", "Page View", metric)
    metric.get_by_label("Measure").select_option("unique")
    set_dates(page, FIRST, LAST)
    total = "table[data-table=totals] td[data-value]"
    spec = {
        **DAYS,
        "unit": "day",
        "metrics": [{"event": "Page View", "measure": "unique", "name": "A"}],
    }
    for membership, where in (("in", "cohort({})"), ("out", "not cohort({})")):
        page.get_by_label("Users", exact=True).select_option(membership)
        body = {**spec, "where": where.format(buyers["id"]), "limit": 10}
        expected = _post(shop, "/insights", body)["series"][0]["total"]
        until(lambda: attributes(page, total, "data-value"), [str(expected)])
    screenshot(page, "insights-cohort-filter")

    open_page(page, "Cohorts")
    page.get_by_role("button", name="Buyers").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    listed = ok(get(shop[0], shop[1], "/api/2.0/cohorts/list"))
    assert "Buyers" not in [c["name"] for c in listed]


def test_a_funnel_counted_by_groups_shows_the_apis_counts(shop: Shop, page: Page) -> None:
    _open(page, shop, "Funnels")
    _build_funnel(page)
    page.get_by_role("group", name="Count users or groups").get_by_role(
        "button", name="Groups"
    ).click()
    choose(page, "Group property", "company")
    by_groups = _post(shop, "/funnels", {**FUNNEL, "group": "company"})
    counts = [s["count"] for s in by_groups["steps"]]
    assert counts != [s["count"] for s in _post(shop, "/funnels", FUNNEL)["steps"]]
    until(lambda: _step_counts(page), counts)
    expect(page.locator("table[data-table=funnel-steps] caption")).to_contain_text("groups")
    expect(page).to_have_url(re.compile("company"))
    screenshot(page, "funnels-groups")

    page.get_by_label("Order").select_option("any")
    page.get_by_label("Step 1 stays in place").check()
    spec = {**FUNNEL, "group": "company", "order": "any", "anchors": [1]}
    anyway = [s["count"] for s in _post(shop, "/funnels", spec)["steps"]]
    until(lambda: _step_counts(page), anyway)


def test_retention_and_flows_options_are_the_apis(shop: Shop, page: Page) -> None:
    _open(page, shop, "Retention")
    choose(page, "First event", "Page View")
    page.get_by_label("Unit", exact=True).select_option("day")
    page.get_by_label("Periods are").select_option("rolling")
    page.get_by_label("Brackets").fill("1-2, 3-7")
    page.get_by_label("Brackets").press("Tab")
    set_dates(page, FIRST, LAST)
    spec = {**DAYS, "born": {"event": "Page View"}, "unit": "day", "periods": 8}
    spec |= {"alignment": "rolling", "brackets": [[1, 2], [3, 7]]}
    total = _post(shop, "/retention", spec)["total"]
    cells = "table[data-table=retention] tr[data-cohort=all] td.heat"
    until(lambda: [int(v) for v in attributes(page, cells, "data-count")], total["counts"])
    screenshot(page, "retention-options")

    open_page(page, "Flows")
    choose(page, "Anchor event", "Page View")
    choose(page, "End event", "Purchase")
    choose(page, "Breakdown", "browser")
    set_dates(page, FIRST, LAST)
    spec = {**DAYS, "anchor": {"event": "Page View"}, "end": {"event": "Purchase"}, "steps": 4}
    flows = _post(shop, "/flows", {**spec, "top": 6, "breakdown": {"property": "browser"}})
    rows = "table[data-table=flow-nodes] tbody tr td[data-value]"
    anchor = str(flows["total"])
    until(lambda: attributes(page, rows, "data-value")[:1], [anchor])
    first = flows["segments"][0]
    page.get_by_label("Segment").select_option(index=1)
    until(lambda: attributes(page, rows, "data-value")[:1], [str(first["total"])])
    screenshot(page, "flows-options")
