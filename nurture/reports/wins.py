"""Wins, week by week: a lead is won when it first enters a won stage. Read from the rows of
those first entries (few, and indexed with the deal value and the lead's creation), except the
sales cycle of whole days, which the daily gaps between first entries hold (DailyGaps).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, false, func, select

from nurture.reports.entries import of_leads
from nurture.reports.filters import Filters, Window
from nurture.reports.periods import in_ranges, period_of
from nurture.reports.sql import ENTRIES, days_between, week_number
from nurture.reports.stages import Funnel
from nurture.store.stage_sets import holds
from nurture.store.tallies import GAPS

DAY_SECONDS = 86_400


@dataclass(frozen=True)
class Won:
    won: int = 0
    valued: int = 0  # wins with a deal value
    value: float = 0.0
    cycle_days: float = 0.0  # qualification → won, summed


def first_into(entries: Any, stages: tuple[str, ...]) -> ColumnElement[bool]:
    """SQL on a StageEntry table: the lead's first entry into any of `stages`."""
    if not stages:
        return false()
    return and_(entries.c.stage.in_(stages),
                *(~holds(entries.c.earlier, stage) for stage in stages))


def first_wins(funnel: Funnel) -> ColumnElement[bool]:
    return first_into(ENTRIES, funnel.won)


def _of_leads(query: Select, filters: Filters) -> Select:
    return query.where(*of_leads(ENTRIES, filters))


def wins_by_week(connection: Connection, funnel: Funnel, filters: Filters,
                 window: Window) -> dict[int, Won]:
    """Per week of the win: wins, their value and their sales cycle."""
    week = week_number(ENTRIES.c.at)
    rows = connection.execute(_of_leads(
        select(week, func.count(), func.count(ENTRIES.c.deal_value),
               func.coalesce(func.sum(ENTRIES.c.deal_value), 0.0))
        .where(first_wins(funnel), window.holds(ENTRIES.c.at)).group_by(week), filters))
    cycles = _cycles(connection, funnel, filters, window)
    return {int(n): Won(int(won), int(valued), float(value), cycles.get(int(n), 0.0))
            for n, won, valued, value in rows}


def conversions_by_week(connection: Connection, funnel: Funnel, filters: Filters,
                        window: Window) -> dict[int, tuple[int, float]]:
    """Per week of creation, of the leads created in `window`: how many were won by now, and
    the days that took, summed."""
    week = week_number(ENTRIES.c.lead_created_at)
    rows = connection.execute(_of_leads(
        select(week, func.count(),
               func.coalesce(func.sum(days_between(ENTRIES.c.lead_created_at, ENTRIES.c.at)),
                             0.0))
        .where(first_wins(funnel), window.holds(ENTRIES.c.lead_created_at)).group_by(week),
        filters))
    return {int(n): (int(won), float(days)) for n, won, days in rows}


def _cycles(connection: Connection, funnel: Funnel, filters: Filters,
            window: Window) -> dict[int, float]:
    """Days from qualification (the first entry into a qualified stage) to the win, summed per
    week of the win."""
    period = period_of(window, by_rows=filters.selects_leads)
    cycles: dict[int, float] = {}
    if period.has_days:
        daily = GAPS.table
        week = (daily.c.day - 4) // 7  # day 4 is the first Monday
        for n, stage_order, from_stage, seconds in connection.execute(
                select(week, daily.c.stage_order, daily.c.from_stage, func.sum(daily.c.seconds))
                .where(period.days(daily.c.day), daily.c.from_stage.in_(funnel.qualified))
                .group_by(week, daily.c.stage_order, daily.c.from_stage)):
            if from_stage == _qualified_before_win(funnel, stage_order.split(",")):
                cycles[int(n)] = cycles.get(int(n), 0.0) + int(seconds) / DAY_SECONDS
    if period.edges:
        qualified = ENTRIES.alias("qualified")  # the lead's first entry into a qualified stage
        week = week_number(ENTRIES.c.at)
        for n, days in connection.execute(_of_leads(
                select(week, func.sum(days_between(qualified.c.at, ENTRIES.c.at)))
                .join_from(ENTRIES, qualified, and_(
                    qualified.c.lead_id == ENTRIES.c.lead_id,
                    first_into(qualified, funnel.qualified)))
                .where(first_wins(funnel), in_ranges(ENTRIES.c.at, period.edges))
                .group_by(week), filters)):
            cycles[int(n)] = cycles.get(int(n), 0.0) + float(days or 0.0)
    return cycles


def _qualified_before_win(funnel: Funnel, stage_order: list[str]) -> str | None:
    """For first entries in `stage_order` ending in a first win: the stage of the first
    qualified entry, when it came before the win (else None: no gap to count)."""
    *before, last = stage_order
    if last not in funnel.won or any(stage in funnel.won for stage in before):
        return None
    return next((stage for stage in before if stage in funnel.qualified), None)
