"""Each report page on the seeded world shows the report layer's figures for the same filters —
every table the command line prints, cell for cell — with hand-computed values checked too,
and charts that carry the same numbers."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from nurture.reports.filters import Filters
from nurture.reports.forecast import forecast_report
from nurture.reports.tables import forecast_tables
from nurture.web.dashboard.formats import shown
from tests.reports.world import FEBRUARY, NOW, PIPELINE

from .conftest import FEBRUARY as FEBRUARY_QUERY
from .conftest import Dashboard, Tables
from .site import PAGES, as_shown, report_of


def svg(html: str, key: str) -> str:
    found = re.search(rf'<figure id="{key}-chart">(.*?)</figure>', html, re.S)
    assert found, f"no chart {key}"
    return found.group(1)


@pytest.mark.parametrize("path", list(PAGES))
@pytest.mark.parametrize(("query", "filters"), [
    (FEBRUARY_QUERY, FEBRUARY),
    ({}, Filters()),
    ({**FEBRUARY_QUERY, "industry": "retail"}, replace(FEBRUARY, industry="retail")),
], ids=["february", "everything", "retail"])
def test_every_table_of_the_report_is_on_its_page(dashboard: Dashboard, path: str,
                                                  query: dict[str, str],
                                                  filters: Filters) -> None:
    response = dashboard.logged_in().get(path, params=query)
    assert response.status_code == 200
    page = Tables(response.text)
    _, tabulate = PAGES[path]
    for table in tabulate(report_of(dashboard.engine, path, filters)):
        assert page.titled(table.title) == as_shown(table), table.title


def test_the_overview_flags_the_bottleneck_and_draws_the_funnel(dashboard: Dashboard) -> None:
    html = dashboard.logged_in().get("/dashboard", params=FEBRUARY_QUERY).text
    page = Tables(html)
    # Hand-computed in tests/reports/test_funnel.py.
    assert page.rows("steps-table") == [
        ["New", "6", "4", "1", "1", "66.7%", "16.7%", ""],
        ["Qualified", "3", "1", "0", "2", "33.3%", "0.0%", ""],
        ["Proposal", "3", "2", "1", "0", "66.7%", "33.3%", "yes"]]
    assert re.search(r'<tr class="flagged"><td data-column="step">Proposal</td>', html)
    assert page.headlines["bottleneck"] == "Proposal (33.3% lost)"
    assert page.headlines["over their stage's limit"] == "1"
    funnel = svg(html, "steps")
    for label, entered in (("New", 6), ("Qualified", 3), ("Proposal", 3)):
        assert f"<title>{label}: {entered}</title>" in funnel
    assert "advanced 66.7% · lost 16.7%" in funnel
    assert funnel.count('class="step flagged"') == 1 and ">bottleneck</text>" in funnel
    stages = svg(html, "stages")
    assert "<title>Qualified: 2</title>" in stages and "<title>Won: 1</title>" in stages


def test_the_velocity_trend_carries_each_weeks_value(dashboard: Dashboard) -> None:
    html = dashboard.logged_in().get("/dashboard/velocity", params=FEBRUARY_QUERY).text
    report = report_of(dashboard.engine, "/dashboard/velocity", FEBRUARY)
    trend = svg(html, "weeks")
    valued = [w for w in report.weeks if w.velocity_per_day is not None]
    assert valued, "the world has weeks with wins"
    for week in valued:
        assert f"<title>{week.start:%-d %b}: {shown(week.velocity_per_day, 'money')}</title>" \
            in trend
    flow = svg(html, "flow")
    for week in report.weeks:
        assert f"<title>won · {week.start:%-d %b}: {week.won}</title>" in flow
    headline = Tables(html).headlines["sales velocity per day"]
    assert headline == shown(report.period.velocity_per_day, "money")


def test_the_forecast_takes_a_target(dashboard: Dashboard) -> None:
    html = dashboard.logged_in().get("/dashboard/forecast",
                                     params={**FEBRUARY_QUERY, "target": "10000"}).text
    with dashboard.engine.connect() as connection:
        report = forecast_report(connection, PIPELINE, FEBRUARY, NOW, 10000.0)
    page = Tables(html)
    for table in forecast_tables(report):
        assert page.titled(table.title) == as_shown(table)
    assert page.headlines["pipeline needed"] == shown(report.pipeline_needed, "money")
    chart = svg(html, "open-pipeline")
    for stage in report.stages:
        assert f"<title>{stage.label} · weighted: {shown(stage.weighted_value, 'money')}" \
               "</title>" in chart or not stage.weighted_value
    assert 'name="target" min="0" step="any" value="10000"' in html


def test_the_sequences_page_compares_subject_variants(dashboard: Dashboard) -> None:
    html = dashboard.logged_in().get("/dashboard/sequences", params=FEBRUARY_QUERY).text
    page = Tables(html)
    assert page.rows("variant-replies-table") == [
        ["welcome", "1", "A", "a1 subject 0", "2", "1", "50.0%", "baseline"],
        ["welcome", "1", "B", "b1 subject 1", "1", "0", "0.0%", "sample too small"]]
    assert "<title>welcome #1 A: 50.0%</title>" in svg(html, "variant-replies")
    assert "<title>welcome · all · sent: 5</title>" in svg(html, "emails")
    assert "<title>welcome #1 · reply: 33.3%</title>" in svg(html, "rates")


def test_the_sources_page_charts_leads_and_wins(dashboard: Dashboard) -> None:
    html = dashboard.logged_in().get("/dashboard/sources", params=FEBRUARY_QUERY).text
    chart = svg(html, "by-source")
    assert "<title>ads · leads: 3</title>" in chart  # cy, dee, gus (hal: March)
    assert "<title>webinar · won: 1</title>" in chart  # ann (eve was created in January)


def test_navigation_keeps_the_filters(dashboard: Dashboard) -> None:
    html = dashboard.logged_in().get("/dashboard/sources", params={
        **FEBRUARY_QUERY, "industry": "retail"}).text
    assert '<a href="/dashboard/velocity?from=2026-02-01&amp;to=2026-03-01&amp;industry=retail"' \
        in html
    assert 'name="industry" value="retail"' in html


@pytest.mark.parametrize("path", [*PAGES, "/dashboard/leads"])
def test_a_bad_filter_shows_the_form_again_naming_the_field(dashboard: Dashboard,
                                                            path: str) -> None:
    response = dashboard.logged_in().get(path, params={"from": "2026-02-30",
                                                       "sequence": "nope"})
    assert response.status_code == 422
    assert "<li><b>from</b>: &#39;2026-02-30&#39; is not a day" in response.text
    assert "<li><b>sequence</b>: no sequence &#39;nope&#39;" in response.text
    assert '<form class="filters"' in response.text


def test_a_bad_forecast_target_is_named(dashboard: Dashboard) -> None:
    response = dashboard.logged_in().get("/dashboard/forecast", params={"target": "-5"})
    assert response.status_code == 422
    assert "<li><b>target</b>:" in response.text


def test_an_empty_database_shows_zeros_and_no_data(empty_dashboard: Dashboard) -> None:
    visitor = empty_dashboard.logged_in()
    for path in PAGES:
        response = visitor.get(path)
        assert response.status_code == 200, path
    html = visitor.get("/dashboard").text
    assert Tables(html).headlines["bottleneck"] == "none"
    assert ">no data</text>" in visitor.get("/dashboard/sequences").text


def test_the_stylesheet_is_served_by_nurture(dashboard: Dashboard) -> None:
    html = dashboard.logged_in().get("/dashboard").text
    href = re.search(r'<link rel="stylesheet" href="([^"]+)">', html)
    assert href and href.group(1).startswith("/dashboard/static/")
    response = dashboard.visitor().get(href.group(1))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "svg.chart" in response.text
    assert "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
