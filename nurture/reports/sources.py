"""Where good leads come from: per lead source and per industry, the leads created in the period,
how many were won by now, and their value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, Select, case, func, literal, select, union_all

from nurture.core.sequences import Pipeline
from nurture.reports.filters import Filters, Window
from nurture.reports.history import milestones
from nurture.reports.rates import rate
from nurture.reports.stages import funnel_of

NONE = "(none)"  # leads with no source or industry


@dataclass(frozen=True)
class Segment:
    name: str
    leads: int
    won: int
    conversion_rate: float | None
    value: float  # deal value of all its leads
    won_value: float


@dataclass(frozen=True)
class SourcesReport:
    window: Window
    sources: list[Segment]  # most leads first
    industries: list[Segment]


def sources_report(connection: Connection, pipeline: Pipeline, filters: Filters,
                   now: datetime) -> SourcesReport:
    window = filters.window(now)
    m = milestones(funnel_of(pipeline), filters, created=window).cte("milestones")

    def by(dimension: str, column: ColumnElement) -> Select:
        """Segments ignore case, like the filters: "Retail" and "retail" are one."""
        key = func.lower(func.coalesce(column, NONE))
        won = m.c.won_at.is_not(None)
        return (select(literal(dimension).label("dimension"),
                       func.min(func.coalesce(column, NONE)).label("name"), func.count(),
                       func.count(m.c.won_at), func.coalesce(func.sum(m.c.deal_value), 0.0),
                       func.coalesce(func.sum(case((won, m.c.deal_value))), 0.0))
                .group_by(key))

    segments: dict[str, list[Segment]] = {"source": [], "industry": []}
    rows = connection.execute(union_all(by("source", m.c.source),
                                        by("industry", m.c.industry)))
    for dimension, name, leads, won, value, won_value in rows:
        segments[dimension].append(Segment(name, int(leads), int(won), rate(won, leads),
                                           float(value), float(won_value)))
    for found in segments.values():
        found.sort(key=lambda s: (-s.leads, s.name))
    return SourcesReport(window, segments["source"], segments["industry"])
