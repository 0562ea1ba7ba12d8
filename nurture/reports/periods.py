"""Where a report reads a period from: the whole UTC days in it from the Daily* tables, and the
parts of a day at either end from the rows themselves (a period ends at `now`, and may start at
any instant). A report filtered by lead reads every row of the period: the daily counts do not
know the leads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, false, or_

from nurture.reports.filters import Window
from nurture.store.tallies import day_of, day_start

Range = tuple[datetime | None, datetime]  # [start, end), start None for "since the beginning"


@dataclass(frozen=True)
class Period:
    """`window` as whole days [first_day, end_day) (first_day None: from the first) and the
    ranges of time around them."""

    window: Window
    first_day: int | None
    end_day: int
    edges: tuple[Range, ...]

    @property
    def has_days(self) -> bool:
        return self.first_day is None or self.first_day < self.end_day

    def days(self, column: ColumnElement[int]) -> ColumnElement[bool]:
        """SQL: the day number in `column` is one of the whole days."""
        if not self.has_days:
            return false()
        upper = column < self.end_day
        return upper if self.first_day is None else and_(column >= self.first_day, upper)

    def in_edges(self, column: ColumnElement[datetime]) -> ColumnElement[bool]:
        return in_ranges(column, self.edges)

    @property
    def start_day(self) -> int:
        """The day the window starts in (it has a start)."""
        assert self.window.start is not None
        return day_of(self.window.start)

    @property
    def starts_mid_day(self) -> bool:
        start = self.window.start
        return start is not None and start != day_start(day_of(start))


def period_of(window: Window, by_rows: bool = False) -> Period:
    """The period of `window`; all of it read from the rows when `by_rows`."""
    start, end = window.start, window.end
    if by_rows:
        return Period(window, 0, 0, ((start, end),) if start is None or start < end else ())
    end_day = day_of(end)
    tail = ((day_start(end_day), end),) if day_start(end_day) < end else ()
    if start is None:
        return Period(window, None, end_day, tail)
    first_day = day_of(start) + (start != day_start(day_of(start)))
    if first_day >= end_day:
        return Period(window, first_day, first_day, ((start, end),) if start < end else ())
    head = ((start, day_start(first_day)),) if start < day_start(first_day) else ()
    return Period(window, first_day, end_day, head + tail)


def in_ranges(column: ColumnElement[datetime], ranges: tuple[Range, ...]) -> ColumnElement[bool]:
    """SQL: `column` falls in one of `ranges`."""
    if not ranges:
        return false()
    return or_(*(and_(column >= start, column < end) if start is not None else column < end
                 for start, end in ranges))
