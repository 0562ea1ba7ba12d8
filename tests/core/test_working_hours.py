"""Working time: N working hours after a moment, counting only the rep's working hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nurture.core.errors import WindowError
from nurture.core.windows import is_open
from nurture.core.working_hours import add_working_time, parse_working_hours

NEW_YORK = ZoneInfo("America/New_York")
OFFICE = parse_working_hours("09:00-17:00", "mon-fri")


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=NEW_YORK)  # type: ignore[misc]


@pytest.mark.parametrize(("start", "hours", "expected"), [
    (local(2026, 3, 2, 9, 0), 4, local(2026, 3, 2, 13, 0)),  # Monday morning
    (local(2026, 3, 2, 15, 0), 4, local(2026, 3, 3, 11, 0)),  # over the night
    (local(2026, 3, 6, 16, 0), 4, local(2026, 3, 9, 12, 0)),  # over a weekend and DST
    (local(2026, 3, 7, 22, 0), 8, local(2026, 3, 9, 17, 0)),  # from a Saturday night
    (local(2026, 3, 2, 6, 30), 0, local(2026, 3, 2, 9, 0)),  # none: the next opening
    (local(2026, 3, 2, 9, 0), 8, local(2026, 3, 2, 17, 0)),  # ends exactly at closing
])
def test_working_time_skips_nights_and_weekends(start: datetime, hours: float,
                                                expected: datetime) -> None:
    assert add_working_time(start, timedelta(hours=hours), OFFICE, NEW_YORK) == expected


def test_holidays_do_not_count() -> None:
    start = local(2026, 12, 24, 15, 0)
    due = add_working_time(start, timedelta(hours=4), OFFICE, NEW_YORK,
                           holidays={date(2026, 12, 25)})
    assert due == local(2026, 12, 28, 11, 0)


def test_an_all_day_window_is_plain_time() -> None:
    always = parse_working_hours("00:00-24:00", "mon-sun")
    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert add_working_time(start, timedelta(hours=50), always, UTC) == start + timedelta(
        hours=50)


@pytest.mark.parametrize(("hours", "days"), [("9-5", "mon-fri"), ("17:00-09:00", "mon-fri"),
                                             ("09:00", "mon-fri"), ("09:00-17:00", "mon-xyz")])
def test_bad_working_hours_are_refused(hours: str, days: str) -> None:
    with pytest.raises(WindowError):
        parse_working_hours(hours, days)


def test_negative_working_time_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_working_time(local(2026, 3, 2, 9), timedelta(hours=-1), OFFICE, NEW_YORK)


ZONES = st.sampled_from([ZoneInfo(name) for name in ("UTC", "America/New_York",
                                                     "Europe/Berlin", "Asia/Kolkata")])
STARTS = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31),
                      timezones=st.just(UTC))
SPANS = st.integers(0, 60 * 60).map(lambda minutes: timedelta(minutes=minutes))


@settings(max_examples=200, deadline=None)
@given(STARTS, SPANS, SPANS, ZONES)
def test_working_time_adds_up(start: datetime, first: timedelta, second: timedelta,
                              zone: ZoneInfo) -> None:
    """a + b working hours land where a, then b more, land; and never outside the window
    (or at its closing instant)."""
    once = add_working_time(start, first + second, OFFICE, zone)
    assert once == add_working_time(add_working_time(start, first, OFFICE, zone), second,
                                    OFFICE, zone)
    assert once >= start
    just_before = once - timedelta(microseconds=1)
    assert is_open(once, OFFICE, zone) or is_open(just_before, OFFICE, zone)
