"""The velocity report: how fast leads convert and what the pipeline closes per day.

For a period: the leads created in it, how many of them were won by now and how long that took
(overall conversion, time to convert); the opportunities (leads that reached the qualification
step or beyond for the first time), the opportunities won and lost in it (win rate), the average
won deal value and the sales cycle (qualification → won) of its wins; and sales velocity =
opportunities × win rate × average deal value ÷ cycle length, per day. The same, week by week.

A lost opportunity is a lead never won whose last entry into a lost stage (or status) falls in
the period, after it qualified.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from sqlalchemy import Connection

from nurture.core.sequences import Pipeline
from nurture.reports.created import created_groups
from nurture.reports.entries import entry_groups, losses
from nurture.reports.filters import Filters, Window
from nurture.reports.rates import average, rate, sales_velocity
from nurture.reports.sql import FIRST_MONDAY
from nurture.reports.stages import Funnel, funnel_of
from nurture.reports.wins import conversions_by_week, wins_by_week

WEEK = timedelta(weeks=1)
TREND_WEEKS = 12  # weeks shown when the period has no start


@dataclass(frozen=True)
class FlowCounts:
    """Raw sums over a period, which add up across weeks."""

    leads: int = 0  # created in the period
    converted: int = 0  # of those, won by now
    days_to_convert: float = 0.0  # summed over the converted
    opportunities: int = 0
    won: int = 0
    lost: int = 0  # opportunities lost (and never won)
    won_value: float = 0.0
    valued_wins: int = 0  # wins with a deal value
    cycle_days: float = 0.0  # qualification → won, summed over the wins

    def __add__(self, other: FlowCounts) -> FlowCounts:
        return FlowCounts(*(getattr(self, f.name) + getattr(other, f.name)
                            for f in fields(self)))


@dataclass(frozen=True)
class Velocity:
    start: datetime | None
    end: datetime
    leads: int
    converted: int
    conversion_rate: float | None  # converted ÷ leads
    average_days_to_convert: float | None  # created → won
    opportunities: int
    won: int
    lost: int
    win_rate: float | None  # won ÷ (won + lost)
    won_value: float
    average_won_value: float | None
    sales_cycle_days: float | None  # qualification → won
    velocity_per_day: float | None


@dataclass(frozen=True)
class VelocityReport:
    window: Window
    qualification: str | None  # the step where the sales cycle starts
    period: Velocity
    weeks: list[Velocity]  # Monday-to-Sunday UTC weeks, oldest first


def summarize(counts: FlowCounts, start: datetime | None, end: datetime) -> Velocity:
    """The rates of a period from its raw sums."""
    win_rate = rate(counts.won, counts.won + counts.lost)
    average_won = average(counts.won_value, counts.valued_wins)
    cycle = average(counts.cycle_days, counts.won)
    return Velocity(
        start, end, counts.leads, counts.converted, rate(counts.converted, counts.leads),
        average(counts.days_to_convert, counts.converted), counts.opportunities, counts.won,
        counts.lost, win_rate, counts.won_value, average_won, cycle,
        sales_velocity(counts.opportunities, win_rate, average_won, cycle))


def velocity_report(connection: Connection, pipeline: Pipeline, filters: Filters,
                    now: datetime) -> VelocityReport:
    funnel = funnel_of(pipeline)
    window = filters.window(now)
    weekly = weekly_counts(connection, funnel, filters, window)
    last = week_of(window.end - timedelta(microseconds=1))
    first = week_of(window.start) if window.start else last - TREND_WEEKS + 1
    weeks = [summarize(weekly.get(n, FlowCounts()), week_start(n), week_start(n + 1))
             for n in range(first, last + 1)]
    total = sum(weekly.values(), FlowCounts())
    return VelocityReport(window, funnel.qualification,
                          summarize(total, window.start, window.end), weeks)


def week_of(moment: datetime) -> int:
    return (moment - FIRST_MONDAY) // WEEK


def week_start(number: int) -> datetime:
    return FIRST_MONDAY + number * WEEK


def weekly_counts(connection: Connection, funnel: Funnel, filters: Filters,
                  window: Window) -> dict[int, FlowCounts]:
    """FlowCounts per week number, for the weeks in `window` where something happened."""
    return {week: counts for week, counts in _counts(connection, funnel, filters, window,
                                                     by_week=True).items()
            if week is not None}


def period_counts(connection: Connection, funnel: Funnel, filters: Filters,
                  window: Window) -> FlowCounts:
    """The FlowCounts of the whole of `window`: what the weeks add up to, read without
    telling the weeks apart where that costs (the entries and leads of a filtered report)."""
    return sum(_counts(connection, funnel, filters, window, by_week=False).values(),
               FlowCounts())


def _counts(connection: Connection, funnel: Funnel, filters: Filters, window: Window, *,
            by_week: bool) -> dict[int | None, FlowCounts]:
    counted: dict[int | None, FlowCounts] = {}

    def add(week: int | None, counts: FlowCounts) -> None:
        counted[week] = counted.get(week, FlowCounts()) + counts

    for created in created_groups(connection, filters, window, by_week=by_week):
        add(created.week, FlowCounts(leads=created.leads))
    for week, (converted, days) in conversions_by_week(connection, funnel, filters,
                                                       window).items():
        add(week, FlowCounts(converted=converted, days_to_convert=days))
    for week, wins in wins_by_week(connection, funnel, filters, window).items():
        add(week, FlowCounts(won=wins.won, valued_wins=wins.valued, won_value=wins.value,
                             cycle_days=wins.cycle_days))
    qualified, won, lost_in = set(funnel.qualified), set(funnel.won), set(losses(funnel))
    for group in entry_groups(connection, filters, window, by_week=by_week):
        if group.stage in qualified and not group.earlier & qualified:
            add(group.week, FlowCounts(opportunities=group.n))
        elif (group.stage in lost_in and not group.later & lost_in
              and not (group.earlier | group.later) & won
              and (group.earlier | group.tied) & qualified):
            add(group.week, FlowCounts(lost=group.n))
    return counted
