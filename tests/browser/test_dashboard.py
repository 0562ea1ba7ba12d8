"""The dashboard in Chromium: log in through the form, open every page on the seeded world,
read the numbers a person sees and compare them with the report layer's, check every chart
has marks, and keep a screenshot of each page on a laptop and on a phone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.reports.world import FEBRUARY
from tests.web.dashboard.site import PAGES, PASSWORD, USER, as_shown, report_of

from .conftest import VIEWPORTS, Served

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

expect = pytest.importorskip("playwright.sync_api", reason=(
    "Playwright's Python package is missing: pip install -e '.[test]'")).expect

QUERY = "?from=2026-02-01&to=2026-03-01"  # world.FEBRUARY
TIMEOUT_MS = 5000


def log_in(page: Page, served: Served, password: str = PASSWORD) -> None:
    page.goto(f"{served.url}/dashboard{QUERY}")
    expect(page).to_have_url(re.compile(r"/dashboard/login\?next="))
    page.get_by_label("Name").fill(USER)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


@pytest.fixture(scope="module", params=list(VIEWPORTS))
def page(request: pytest.FixtureRequest, browser: Browser, served: Served) -> Iterator[Page]:
    """A logged-in tab, sized as a laptop or a phone."""
    context = browser.new_context(viewport=VIEWPORTS[request.param])
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    log_in(tab, served)
    expect(tab).to_have_url(f"{served.url}/dashboard{QUERY}")
    tab.viewport_name = request.param  # type: ignore[attr-defined]
    yield tab
    context.close()


def shown_tables(page: Page) -> dict[str, list[list[str]]]:
    """Each table's rows as the browser renders them, by caption."""
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('table')]
        .map(t => [t.caption.textContent.trim(), [...t.rows].map(r => [...r.cells]
            .map(c => c.innerText.trim()))]))""")


def assert_every_chart_has_marks(page: Page) -> int:
    """Every chart on the page draws something of its data; the number of charts."""
    charts = page.locator("figure svg.chart")
    for index in range(charts.count()):
        chart = charts.nth(index)
        marks = chart.locator("rect, circle")
        assert marks.count() > 0, chart.locator("title").first.text_content()
        box = marks.first.bounding_box()
        assert box and box["width"] > 0 and box["height"] > 0
    return charts.count()


def screenshot(page: Page, screenshots: Path, name: str) -> None:
    path = screenshots / f"{name}-{page.viewport_name}.png"  # type: ignore[attr-defined]
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000


@pytest.mark.parametrize("path", list(PAGES))
def test_each_report_page_shows_the_report_layers_numbers_and_its_charts(
        page: Page, served: Served, screenshots: Path, path: str) -> None:
    page.goto(f"{served.url}{path}{QUERY}")
    expect(page.locator("h1")).to_be_visible()
    tables = shown_tables(page)
    _, tabulate = PAGES[path]
    for table in tabulate(report_of(served.engine, path, FEBRUARY)):
        assert tables[table.title] == as_shown(table), table.title
    assert assert_every_chart_has_marks(page) >= 1
    screenshot(page, screenshots, path.strip("/").replace("/", "-"))


def test_the_overview_shows_the_bottleneck(page: Page, served: Served) -> None:
    page.goto(f"{served.url}/dashboard{QUERY}")
    expect(page.locator("[data-headline=bottleneck] dd")).to_have_text("Proposal (33.3% lost)")
    expect(page.locator("#steps-table tr.flagged td").first).to_have_text("Proposal")
    expect(page.locator("#steps-chart rect.flagged")).to_have_count(1)


def test_the_filter_form_narrows_every_figure(page: Page, served: Served) -> None:
    page.goto(f"{served.url}/dashboard/sources{QUERY}")
    page.get_by_label("Industry", exact=True).fill("retail")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"industry=retail"))
    expect(page.locator("#by-industry-table tbody tr")).to_have_count(1)  # Retail and retail
    page.get_by_role("link", name="Overview").click()
    expect(page).to_have_url(re.compile(r"/dashboard\?.*industry=retail"))
    expect(page.get_by_label("Industry", exact=True)).to_have_value("retail")


def test_a_stale_lead_opens_its_timeline(page: Page, served: Served,
                                         screenshots: Path) -> None:
    page.goto(f"{served.url}/dashboard/leads{QUERY}")
    expect(page.locator("#stale .count")).to_have_text("1")
    screenshot(page, screenshots, "leads")
    page.locator("#stale-table").get_by_role("link", name="dee@example.com").click()
    expect(page.locator("h1")).to_have_text("dee@example.com")
    page.goto(f"{served.url}/dashboard/leads/{served.ids['ann']}")
    timeline = page.locator("#timeline-list li")
    expect(timeline).to_have_count(14)  # a sequence, 2 emails, 5 events, 3 moves, 3 scores
    expect(timeline.last).to_contain_text("proposal → won")
    assert assert_every_chart_has_marks(page) == 1
    screenshot(page, screenshots, "lead")


def test_logging_out_and_a_wrong_password(browser: Browser, served: Served) -> None:
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    log_in(tab, served, password="not the password")
    expect(tab.get_by_role("alert")).to_have_text("Wrong name or password.")
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Log in").click()
    expect(tab).to_have_url(f"{served.url}/dashboard{QUERY}")
    tab.get_by_role("button", name="Log out").click()
    expect(tab.get_by_role("status")).to_have_text("You are logged out.")
    tab.goto(f"{served.url}/dashboard/velocity")
    expect(tab).to_have_url(re.compile(r"/dashboard/login\?next=/dashboard/velocity"))
    context.close()
