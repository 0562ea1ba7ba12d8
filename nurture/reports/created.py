"""Leads created in a period, grouped by source, industry ("(none)" for none) and the stages they
visited, with their deal values: from the daily counts (DailyLeads) for whole days and from the
lead rows for the rest (or all of it, for a report filtered by lead)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import Connection, func, null, select

from nurture.reports.filters import Filters, Window
from nurture.reports.periods import period_of
from nurture.reports.sql import LEADS, week_number
from nurture.store.lead_paths import NONE
from nurture.store.stage_sets import stages_in
from nurture.store.tallies import LEADS as DAILY_LEADS

DAILY = DAILY_LEADS.table


@dataclass(frozen=True)
class CreatedGroup:
    week: int | None
    source: str
    industry: str
    visited: frozenset[str]
    leads: int
    value: float  # deal values, none counted as 0


def created_groups(connection: Connection, filters: Filters, window: Window, *,
                   by_week: bool) -> list[CreatedGroup]:
    period = period_of(window, by_rows=filters.selects_leads)
    leads: Counter[tuple[int | None, str, str, str]] = Counter()
    values: dict[tuple[int | None, str, str, str], float] = {}
    queries = []
    if period.has_days:
        week = (DAILY.c.day - 4) // 7 if by_week else null()  # day 4: the first Monday
        daily_keys = (DAILY.c.source, DAILY.c.industry, DAILY.c.visited)
        queries.append(select(week, *daily_keys, func.sum(DAILY.c.n), func.sum(DAILY.c.value))
                       .where(period.days(DAILY.c.day))
                       .group_by(*([week] if by_week else []), *daily_keys))
    if period.edges:
        week = week_number(LEADS.c.created_at) if by_week else null()
        keys = (func.coalesce(LEADS.c.source, NONE), func.coalesce(LEADS.c.industry, NONE),
                LEADS.c.visited)
        queries.append(select(week, *keys, func.count(),
                              func.coalesce(func.sum(LEADS.c.deal_value), 0.0))
                       .where(period.in_edges(LEADS.c.created_at), *filters.lead_conditions())
                       .group_by(*([week] if by_week else []), *keys))
    for query in queries:
        for week_found, source, industry, visited, n, value in connection.execute(query):
            key = (None if week_found is None else int(week_found), source, industry, visited)
            leads[key] += int(n)
            values[key] = values.get(key, 0.0) + float(value)
    return [CreatedGroup(week_found, source, industry, stages_in(visited), n, values[key])
            for key, n in leads.items() if n
            for week_found, source, industry, visited in [key]]
