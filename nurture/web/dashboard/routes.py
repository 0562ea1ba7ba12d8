"""The dashboard's pages under /dashboard, each taking the report filters as query parameters:

/dashboard             overview: the funnel by step, conversion and drop-off, the bottleneck
/dashboard/velocity    sales velocity and its trend by week
/dashboard/forecast    the weighted open pipeline (?target= for the pipeline needed)
/dashboard/sequences   sequences, touches and A/B subject variants
/dashboard/sources     lead sources and industries
/dashboard/leads       stale and unassigned leads, and a search (?q=)
/dashboard/leads/{id}  one lead and its timeline
Every page needs a session (see login.py) or the API token.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Connection, select
from sqlmodel import Session

from nurture.core.sequences import Pipeline
from nurture.reports.filters import Filters, Window
from nurture.reports.forecast import forecast_report
from nurture.reports.funnel import funnel_report
from nurture.reports.sequences import sequences_report
from nurture.reports.sources import sources_report
from nurture.reports.sql import REPS
from nurture.reports.velocity import velocity_report
from nurture.store.leads import lead_story
from nurture.store.models import Rep
from nurture.web.dashboard import login
from nurture.web.dashboard.auth.access import LoginRequired, Viewer, to_login_page, viewer
from nurture.web.dashboard.lead_lists import find_leads, stale_leads, unassigned_leads
from nurture.web.dashboard.lead_page import lead_values
from nurture.web.dashboard.render import STATIC_PATH, render
from nurture.web.dashboard.views import (
    ReportView,
    forecast_view,
    funnel_view,
    sequences_view,
    sources_view,
    velocity_view,
)
from nurture.web.report_filters import BadFilters, FilterQuery, filter_query, report_filters
from nurture.web.state import WebContext, web_context

Context = Annotated[WebContext, Depends(web_context)]
Who = Annotated[Viewer, Depends(viewer)]
Filtering = Annotated[FilterQuery, Depends(filter_query)]
Build = Callable[[Connection, Pipeline, Filters, datetime], Any]
MAX_TARGET = 1e15
PAGES = (("overview", "", "Overview"), ("velocity", "/velocity", "Velocity"),
         ("forecast", "/forecast", "Forecast"), ("sequences", "/sequences", "Sequences"),
         ("sources", "/sources", "Sources"), ("leads", "/leads", "Leads"))
router = APIRouter(prefix="/dashboard", include_in_schema=False)


def add_dashboard(app: FastAPI) -> None:
    """Mount the pages, the login, the stylesheet, and the redirect to the login page."""
    app.include_router(router)
    app.include_router(login.router)
    app.mount(STATIC_PATH, StaticFiles(packages=[("nurture.web.dashboard", "static")]),
              name="dashboard-static")
    app.add_exception_handler(LoginRequired, to_login_page)


@router.get("")
def overview(request: Request, who: Who, context: Context, query: Filtering) -> HTMLResponse:
    return _report_page(request, who, context, query, "overview", "Pipeline overview",
                        funnel_report, funnel_view)


@router.get("/velocity")
def velocity(request: Request, who: Who, context: Context, query: Filtering) -> HTMLResponse:
    return _report_page(request, who, context, query, "velocity", "Sales velocity",
                        velocity_report, velocity_view)


@router.get("/forecast")
def forecast(request: Request, who: Who, context: Context, query: Filtering,
             target: str | None = None) -> HTMLResponse:
    amount, problems = _target(target)

    def build(connection: Connection, pipeline: Pipeline, filters: Filters,
              now: datetime) -> Any:
        return forecast_report(connection, pipeline, filters, now, amount)

    return _report_page(request, who, context, query, "forecast", "Forecast", build,
                        forecast_view, target=target or "", problems=problems)


@router.get("/sequences")
def sequences(request: Request, who: Who, context: Context, query: Filtering) -> HTMLResponse:
    return _report_page(request, who, context, query, "sequences", "Sequences and touches",
                        sequences_report, sequences_view)


@router.get("/sources")
def sources(request: Request, who: Who, context: Context, query: Filtering) -> HTMLResponse:
    return _report_page(request, who, context, query, "sources", "Sources and industries",
                        sources_report, sources_view)


@router.get("/leads")
def leads(request: Request, who: Who, context: Context, query: Filtering,
          q: str | None = None) -> HTMLResponse:
    project, now = context.project(), context.clock.now()
    search = (q or "").strip()[:200]
    values: dict[str, Any] = {"search": search, "found": None, "problems": []}
    with context.engine.connect() as connection:
        frame = _frame(request, who, context, connection, query, "leads", "Leads")
        if search:
            values["found"] = find_leads(connection, project.pipeline, search, now)
        try:
            filters = report_filters(connection, project, query)
        except BadFilters as exc:
            values["problems"] = exc.problems
            return render(request, context.settings, "leads.html", {**frame, **values},
                          status=422)
        values |= {"stale": stale_leads(connection, project.pipeline, filters, now),
                   "unassigned": unassigned_leads(connection, project.pipeline, filters, now),
                   "period": _period(filters.window(now))}
    return render(request, context.settings, "leads.html", {**frame, **values})


@router.get("/leads/{lead_id}")
def lead(request: Request, who: Who, context: Context, lead_id: str) -> HTMLResponse:
    number = int(lead_id) if lead_id.isascii() and lead_id.isdigit() and len(lead_id) < 10 \
        else 0
    with Session(context.engine) as session:
        story = lead_story(session, number) if number else None
        owner = session.get(Rep, story.lead.owner_id) if story and story.lead.owner_id else None
    with context.engine.connect() as connection:
        frame = _frame(request, who, context, connection, FilterQuery(), "leads", "Lead")
    if story is None:
        return render(request, context.settings, "message.html", {
            **frame, "title": "No such lead",
            "message": f"There is no lead with id {lead_id[:20]}."}, status=404)
    values = lead_values(story, owner.name if owner else None)
    return render(request, context.settings, "lead.html", {**frame, **values})


def _report_page(request: Request, who: Viewer, context: WebContext, query: FilterQuery,
                 page: str, title: str, build: Build, view: Callable[[Any], ReportView], *,
                 target: str | None = None,
                 problems: list[tuple[str, str]] | None = None) -> HTMLResponse:
    project, now = context.project(), context.clock.now()
    with context.engine.connect() as connection:
        frame = _frame(request, who, context, connection, query, page, title)
        frame["target"] = target
        try:
            filters = report_filters(connection, project, query)
        except BadFilters as exc:
            problems = [*exc.problems, *(problems or [])]
        if problems:
            return render(request, context.settings, "report.html",
                          {**frame, "problems": problems}, status=422)
        report = build(connection, project.pipeline, filters, now)
    return render(request, context.settings, "report.html", {
        **frame, "problems": [], "view": view(report), "period": _period(report.window)})


def _frame(request: Request, who: Viewer, context: WebContext, connection: Connection,
           query: FilterQuery, page: str, title: str) -> dict[str, Any]:
    """What every page's frame shows: the navigation (keeping the filters), who is looking, and
    the filter form with its choices."""
    kept = urlencode(query.params())
    nav = [(key, label, f"/dashboard{path}" + (f"?{kept}" if kept else ""))
           for key, path, label in PAGES]
    reps = connection.execute(select(REPS.c.id, REPS.c.name, REPS.c.email)
                              .order_by(REPS.c.name)).all()
    action = f"/dashboard{dict((k, p) for k, p, _ in PAGES)[page]}"
    return {"title": title, "page": page, "nav": nav, "who": who, "query": query,
            "action": action, "target": None, "reps": reps,
            "sequences": sorted(s.id for s in context.project().sequences)}


def _period(window: Window) -> str:
    start = f"{window.start:%Y-%m-%d}" if window.start else "the beginning"
    return f"From {start} to {window.end:%Y-%m-%d %H:%M} UTC."


def _target(value: str | None) -> tuple[float | None, list[tuple[str, str]]]:
    if not value or not value.strip():
        return None, []
    try:
        amount = float(value)
    except ValueError:
        amount = math.nan
    if not 0 <= amount <= MAX_TARGET:
        return None, [("target", f"{value[:40]!r} is not an amount from 0 to {MAX_TARGET:,.0f}")]
    return amount, []
