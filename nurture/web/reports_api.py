"""The pipeline reports under /api/reports (Bearer auth, like the rest of /api).

GET /api/reports/funnel      leads, value and days per stage; conversion and drop-off per step
GET /api/reports/velocity    conversion, cycle, win rate, sales velocity; week by week
GET /api/reports/forecast    the weighted open pipeline, won value, pipeline needed (?target=)
GET /api/reports/sequences   emails per sequence, touch and A/B subject, with significance
GET /api/reports/sources     leads, conversion and value per source and industry
Each takes the filters of `nurture report` (from, to, source, industry, sequence, owner) and
answers the report as that command's `--format json` prints it. A bad filter is 422 naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Connection

from nurture.core.sequences import Pipeline
from nurture.reports.filters import Filters
from nurture.reports.forecast import ForecastReport, forecast_report
from nurture.reports.funnel import FunnelReport, funnel_report
from nurture.reports.sequences import SequencesReport, sequences_report
from nurture.reports.sources import SourcesReport, sources_report
from nurture.reports.velocity import VelocityReport, velocity_report
from nurture.web.auth import require_api_key
from nurture.web.report_filters import BadFilters, FilterQuery, filter_query, report_filters
from nurture.web.report_json import report_document, report_schema
from nurture.web.state import WebContext, web_context

Build = Callable[[Connection, Pipeline, Filters, datetime], Any]
Context = Annotated[WebContext, Depends(web_context)]
Filtering = Annotated[FilterQuery, Depends(filter_query)]
MAX_TARGET = 1e15
router = APIRouter(
    prefix="/api/reports", tags=["reports"], dependencies=[Depends(require_api_key)],
    responses={401: {"description": "no API key, or a wrong one"}},
)


def _answers(name: str, report_class: type) -> dict[int | str, dict[str, Any]]:
    return {200: {"description": f"the {name} report", "content": {
        "application/json": {"schema": report_schema(name, report_class)}}}}


@router.get("/funnel", response_class=JSONResponse,
            responses=_answers("funnel", FunnelReport))
def funnel(query: Filtering, context: Context) -> JSONResponse:
    """Leads, value and days per stage now; conversion and drop-off of each funnel step for the
    leads that entered it in the period, with the bottleneck."""
    return _answer("funnel", funnel_report, query, context)


@router.get("/velocity", response_class=JSONResponse,
            responses=_answers("velocity", VelocityReport))
def velocity(query: Filtering, context: Context) -> JSONResponse:
    """Overall conversion, time to convert, sales cycle, win rate, average won deal and sales
    velocity for the period, and week by week."""
    return _answer("velocity", velocity_report, query, context)


@router.get("/forecast", response_class=JSONResponse,
            responses=_answers("forecast", ForecastReport))
def forecast(query: Filtering, context: Context, target: Annotated[float | None, Query(
        ge=0, le=MAX_TARGET, allow_inf_nan=False,
        description="revenue to reach: adds the pipeline needed at the conversion rate")]
        = None) -> JSONResponse:
    """The open pipeline weighted by stage probability, what was won in the period, and the
    pipeline needed to reach `target`."""
    def build(connection: Connection, pipeline: Pipeline, filters: Filters,
              now: datetime) -> ForecastReport:
        return forecast_report(connection, pipeline, filters, now, target)

    return _answer("forecast", build, query, context)


@router.get("/sequences", response_class=JSONResponse,
            responses=_answers("sequences", SequencesReport))
def sequences(query: Filtering, context: Context) -> JSONResponse:
    """Sent, delivered, human opens, clicks, replies, unsubscribes and bounces with their rates,
    per sequence and touch; subject variants compared with a two-proportion z-test."""
    return _answer("sequences", sequences_report, query, context)


@router.get("/sources", response_class=JSONResponse,
            responses=_answers("sources", SourcesReport))
def sources(query: Filtering, context: Context) -> JSONResponse:
    """Leads, conversion and value per lead source and per industry."""
    return _answer("sources", sources_report, query, context)


def _answer(name: str, build: Build, query: FilterQuery, context: WebContext) -> JSONResponse:
    project, now = context.project(), context.clock.now()
    with context.engine.connect() as connection:
        try:
            filters = report_filters(connection, project, query)
        except BadFilters as exc:
            raise RequestValidationError([
                {"type": "value_error", "loc": ("query", field), "msg": message}
                for field, message in exc.problems]) from exc
        report = build(connection, project.pipeline, filters, now)
    return JSONResponse(report_document(name, report, now))
