"""GET /api/reports/*: the report layer's figures as JSON, with the filters of `nurture report`,
behind the API key; a bad filter is 422 naming it; the OpenAPI document describes each answer."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import jsonschema_rs
import pytest

from nurture.reports.filters import Filters
from nurture.reports.forecast import forecast_report
from nurture.reports.funnel import funnel_report
from nurture.reports.sequences import sequences_report
from nurture.reports.sources import sources_report
from nurture.reports.velocity import velocity_report
from nurture.web.report_json import report_document
from tests.reports.world import FEBRUARY, NOW, PIPELINE

from .conftest import FEBRUARY as FEBRUARY_QUERY
from .conftest import Dashboard
from .site import API_KEY

REPORTS: dict[str, Callable[..., Any]] = {
    "funnel": funnel_report, "velocity": velocity_report, "forecast": forecast_report,
    "sequences": sequences_report, "sources": sources_report}


def expected(dashboard: Dashboard, name: str, filters: Filters, *extra: Any) -> dict[str, Any]:
    """What the report layer computes, as JSON would carry it."""
    with dashboard.engine.connect() as connection:
        report = REPORTS[name](connection, PIPELINE, filters, NOW, *extra)
    return json.loads(json.dumps(report_document(name, report, NOW)))


@pytest.mark.parametrize("name", list(REPORTS))
def test_each_report_is_the_report_layers_figures(dashboard: Dashboard, name: str) -> None:
    response = dashboard.api(f"/api/reports/{name}", **FEBRUARY_QUERY)
    assert response.status_code == 200, response.text
    assert response.json() == expected(dashboard, name, FEBRUARY)
    assert response.json()["report"] == name


def test_the_funnel_carries_the_hand_computed_steps_and_bottleneck(
        dashboard: Dashboard) -> None:
    body = dashboard.api("/api/reports/funnel", **FEBRUARY_QUERY).json()
    assert {s["stage"]: (s["entered"], s["advanced"], s["lost"], s["still_open"])
            for s in body["steps"]} == {"new": (6, 4, 1, 1), "qualified": (3, 1, 0, 2),
                                        "proposal": (3, 2, 1, 0)}
    assert body["bottleneck"] == "proposal"
    assert body["window"] == {"start": "2026-02-01T00:00:00+00:00",
                              "end": "2026-03-02T00:00:00+00:00"}


def test_computed_fields_are_in_the_json(dashboard: Dashboard) -> None:
    """Rates and verdicts are dataclass fields computed after init: they are kept."""
    body = dashboard.api("/api/reports/sequences", **FEBRUARY_QUERY).json()
    welcome = next(s for s in body["sequences"] if s["sequence"] == "welcome")
    assert welcome["emails"]["delivered"] == 4
    assert welcome["emails"]["reply_rate"] == pytest.approx(0.25)
    second = welcome["touches"][0]["variants"][1]
    assert second["reply_test"]["verdict"] == "sample too small"


@pytest.mark.parametrize(("params", "filters"), [
    ({"industry": "RETAIL"}, {"industry": "RETAIL"}),
    ({"source": "ads"}, {"source": "ads"}),
    ({"sequence": "nudge"}, {"sequence": "nudge"}),
], ids=["industry", "source", "sequence"])
def test_filters_narrow_the_report_as_the_report_layer_does(
        dashboard: Dashboard, params: dict[str, str], filters: dict[str, Any]) -> None:
    for name in REPORTS:
        body = dashboard.api(f"/api/reports/{name}", **FEBRUARY_QUERY, **params).json()
        assert body == expected(dashboard, name, replace(FEBRUARY, **filters)), name
    assert expected(dashboard, "funnel", replace(FEBRUARY, **filters)) != \
        expected(dashboard, "funnel", FEBRUARY)


def test_an_owner_is_named_by_email_or_id(dashboard: Dashboard) -> None:
    rita = replace(FEBRUARY, owner=dashboard.ids["rita"])
    for owner in ("rita@example.com", " Rita@Example.com ", str(dashboard.ids["rita"])):
        body = dashboard.api("/api/reports/funnel", **FEBRUARY_QUERY, owner=owner).json()
        assert body == expected(dashboard, "funnel", rita), owner


def test_no_period_means_from_the_beginning_to_now(dashboard: Dashboard) -> None:
    body = dashboard.api("/api/reports/velocity").json()
    assert body == expected(dashboard, "velocity", Filters())
    assert body["window"] == {"start": None, "end": NOW.isoformat()}


def test_a_forecast_target_gives_the_pipeline_needed(dashboard: Dashboard) -> None:
    body = dashboard.api("/api/reports/forecast", **FEBRUARY_QUERY, target="10000").json()
    assert body == expected(dashboard, "forecast", FEBRUARY, 10000.0)
    assert body["pipeline_needed"] == pytest.approx(10000 / body["conversion_rate"])


@pytest.mark.parametrize(("params", "field"), [
    ({"from": "2026-02-30"}, "from"),
    ({"from": "yesterday"}, "from"),
    ({"to": "1969-12-31"}, "to"),
    ({"from": "2026-03-01", "to": "2026-02-01"}, "to"),
    ({"sequence": "nope"}, "sequence"),
    ({"owner": "nobody@example.com"}, "owner"),
    ({"owner": "99999999999999999999"}, "owner"),
    ({"owner": "²"}, "owner"),
    ({"source": "web\u0000inar"}, "source"),
    ({"industry": "x" * 201}, "industry"),
], ids=["no-such-day", "not-a-date", "before-1970", "to-before-from", "unknown-sequence",
        "unknown-owner", "owner-id-too-large", "owner-superscript-digit", "nul-in-source",
        "long-industry"])
def test_a_bad_filter_is_422_naming_the_field(dashboard: Dashboard, params: dict[str, str],
                                              field: str) -> None:
    for name in REPORTS:
        response = dashboard.api(f"/api/reports/{name}", **params)
        assert response.status_code == 422, (name, response.text)
        assert [e["loc"] for e in response.json()["detail"]] == [["query", field]], name


@pytest.mark.parametrize("target", ["-1", "nan", "inf", "1e16", "lots"])
def test_a_bad_target_is_422(dashboard: Dashboard, target: str) -> None:
    response = dashboard.api("/api/reports/forecast", target=target)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "target"]


def test_reports_need_the_api_key(dashboard: Dashboard) -> None:
    visitor = dashboard.logged_in()  # a dashboard session is no API key
    for name in REPORTS:
        for headers in ({}, {"Authorization": "Bearer wrong"},
                        {"Authorization": f"Basic {API_KEY}"}):
            response = visitor.get(f"/api/reports/{name}", headers=headers)
            assert response.status_code == 401, (name, headers)
            assert response.headers["www-authenticate"] == "Bearer"


def test_the_openapi_document_describes_each_report(dashboard: Dashboard) -> None:
    document = dashboard.visitor().get("/api/openapi.json").json()
    for name in REPORTS:
        operation = document["paths"][f"/api/reports/{name}"]["get"]
        assert {p["name"] for p in operation["parameters"]} >= {
            "from", "to", "source", "industry", "sequence", "owner"}
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        body = dashboard.api(f"/api/reports/{name}", **FEBRUARY_QUERY).json()
        jsonschema_rs.validate(schema, body)
        assert set(schema["required"]) == set(body)
    sequences = document["paths"]["/api/reports/sequences"]["get"]["responses"]["200"]
    engagement = sequences["content"]["application/json"]["schema"]["properties"][
        "sequences"]["items"]["properties"]["emails"]
    assert {"delivered", "reply_rate", "bounce_rate"} <= set(engagement["required"])
