"""A period cut into the whole UTC days the daily counts answer for and the ranges of time the
rows must: the reports are exact only if the two never overlap and leave nothing out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nurture.reports.filters import Window
from nurture.reports.periods import period_of
from nurture.store.tallies import day_of


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 2, day, hour, tzinfo=UTC)


@pytest.mark.parametrize(("start", "end", "days", "edges"), [
    (None, at(20, 12), (None, at(20)), [(at(20), at(20, 12))]),
    (None, at(20), (None, at(20)), []),
    (at(10, 12), at(20, 12), (at(11), at(20)), [(at(10, 12), at(11)), (at(20), at(20, 12))]),
    (at(10), at(20), (at(10), at(20)), []),
    (at(10, 6), at(10, 18), None, [(at(10, 6), at(10, 18))]),
    (at(10, 6), at(11, 3), None, [(at(10, 6), at(11, 3))]),
    (at(10, 6), at(10, 6), None, []),
])
def test_whole_days_come_from_the_counts_and_the_rest_from_the_rows(
        start: datetime | None, end: datetime, days: tuple[datetime | None, datetime] | None,
        edges: list[tuple[datetime | None, datetime]]) -> None:
    period = period_of(Window(start, end))
    assert list(period.edges) == edges
    if days is None:
        assert not period.has_days
    else:
        first, last = days
        assert period.has_days
        assert (period.first_day, period.end_day) == (
            None if first is None else day_of(first), day_of(last))


def test_a_period_read_by_rows_has_no_days() -> None:
    period = period_of(Window(None, at(20, 12)), by_rows=True)
    assert not period.has_days and list(period.edges) == [(None, at(20, 12))]
    assert not period_of(Window(at(10, 6), at(20)), by_rows=True).has_days


def test_a_period_starting_mid_day_knows_it() -> None:
    assert period_of(Window(at(10, 12), at(20))).starts_mid_day
    assert not period_of(Window(at(10), at(20))).starts_mid_day
    assert period_of(Window(at(10, 12), at(20))).start_day == day_of(at(10))
