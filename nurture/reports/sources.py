"""Where good leads come from: per lead source and per industry, the leads created in the period,
how many were won by now, and their value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from nurture.core.sequences import Pipeline
from nurture.reports.created import created_groups
from nurture.reports.filters import Filters, Window
from nurture.reports.rates import rate
from nurture.reports.stages import funnel_of


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
    won_stages = set(funnel_of(pipeline).won)
    found: dict[str, dict[str, list[Any]]] = {"source": {}, "industry": {}}
    for group in created_groups(connection, filters, window, by_week=False):
        won = bool(group.visited & won_stages)
        for dimension, name in (("source", group.source), ("industry", group.industry)):
            # Segments ignore case, like the filters: "Retail" and "retail" are one.
            segment = found[dimension].setdefault(name.lower(), [name, 0, 0, 0.0, 0.0])
            segment[0] = min(segment[0], name)
            segment[1] += group.leads
            segment[2] += group.leads if won else 0
            segment[3] += group.value
            segment[4] += group.value if won else 0.0
    segments = {dimension: sorted((Segment(name, leads, won, rate(won, leads), value, won_value)
                                   for name, leads, won, value, won_value in by_name.values()),
                                  key=lambda s: (-s.leads, s.name))
                for dimension, by_name in found.items()}
    return SourcesReport(window, segments["source"], segments["industry"])
