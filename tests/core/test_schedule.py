"""When a touch falls due: previous touch + wait, landed in the lead's send window."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nurture.core.durations import Wait, parse_wait
from nurture.core.schedule import due_time
from nurture.core.windows import holiday_calendar, next_allowed, parse_window

PARIS, NEW_YORK = ZoneInfo("Europe/Paris"), ZoneInfo("America/New_York")
KOLKATA, AUCKLAND = ZoneInfo("Asia/Kolkata"), ZoneInfo("Pacific/Auckland")
OFFICE = parse_window("mon-fri", "09:00", "17:30")
ALWAYS = parse_window()
US_2026 = holiday_calendar("US", [2026])


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("zone", "previous", "wait", "expected"),
    [
        (PARIS, "2026-06-20T11:00+02:00", "0d", "2026-06-22T09:00+02:00"),
        (PARIS, "2026-06-15T10:00+02:00", "3d", "2026-06-18T10:00+02:00"),
        (PARIS, "2026-06-15T09:00+02:00", "36h", "2026-06-17T09:00+02:00"),
        (PARIS, "2026-06-15T09:00+02:00", "90m", "2026-06-15T10:30+02:00"),
        (PARIS, "2026-06-15T16:45+02:00", "1d 12h", "2026-06-17T09:00+02:00"),
        (PARIS, "2026-03-26T17:00+01:00", "1w", "2026-04-02T17:00+02:00"),
        # "3d" keeps the local clock time across the fall-back, it is not 72 elapsed hours
        (NEW_YORK, "2026-10-30T09:00-04:00", "3d", "2026-11-02T09:00-05:00"),
        (NEW_YORK, "2026-03-05T17:00-05:00", "3d", "2026-03-09T09:00-04:00"),
        (NEW_YORK, "2026-03-06T17:00-05:00", "3d", "2026-03-09T17:00-04:00"),
        (NEW_YORK, "2026-12-24T10:00-05:00", "2 business days", "2026-12-29T10:00-05:00"),
        (NEW_YORK, "2026-12-24T10:00-05:00", "1d", "2026-12-28T09:00-05:00"),
        (KOLKATA, "2026-06-19T16:00+05:30", "3 working days", "2026-06-24T16:00+05:30"),
        (AUCKLAND, "2026-09-25T16:00+12:00", "2 business days", "2026-09-29T16:00+13:00"),
    ],
)
def test_a_touch_is_due_after_its_wait_inside_the_window(
    zone: ZoneInfo, previous: str, wait: str, expected: str
) -> None:
    result = due_time(at(previous), parse_wait(wait), OFFICE, zone, US_2026)
    assert result == at(expected)
    assert result.utcoffset() == timedelta(0)


def test_jitter_spreads_leads_the_window_held_back_the_same_way_every_run() -> None:
    friday_night = at("2026-06-19T22:00+02:00")
    keys = [f"enrollment-{n}" for n in range(10_000)]

    def due_all() -> list[datetime]:
        return [due_time(friday_night, Wait(), OFFICE, PARIS, jitter_key=key,
                         jitter_spread=timedelta(minutes=15)) for key in keys]

    first_run = due_all()
    opening = at("2026-06-22T09:00+02:00")
    assert all(opening <= due < opening + timedelta(minutes=15) for due in first_run)
    assert max(first_run) - min(first_run) > timedelta(minutes=14)
    assert due_all() == first_run


def test_jitter_that_runs_past_the_close_waits_for_the_next_opening() -> None:
    key = next(k for k in map(str, range(1000))
               if due_time(at("2026-06-15T17:29+02:00"), Wait(), OFFICE, PARIS, jitter_key=k,
                           jitter_spread=timedelta(minutes=10)) != at("2026-06-15T17:29+02:00"))
    due = due_time(at("2026-06-15T17:29+02:00"), Wait(), OFFICE, PARIS, jitter_key=key,
                   jitter_spread=timedelta(minutes=10))
    assert due == at("2026-06-16T09:00+02:00")


def test_no_jitter_without_a_spread() -> None:
    previous = at("2026-06-15T10:00+02:00")
    assert due_time(previous, Wait(), OFFICE, PARIS, jitter_key="ada@example.com") == previous


ZONES = [PARIS, NEW_YORK, KOLKATA, AUCKLAND, ZoneInfo("America/Santiago")]
waits = st.one_of(
    st.builds(Wait, delta=st.timedeltas(timedelta(0), timedelta(days=20))),
    st.builds(Wait, business_days=st.integers(0, 15)),
)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(ZONES),
    st.datetimes(datetime(2025, 6, 1), datetime(2027, 6, 1), timezones=st.just(UTC)),
    waits,
    st.text(max_size=20),
    st.timedeltas(timedelta(0), timedelta(hours=1)),
)
def test_due_time_is_never_before_previous_and_always_inside_the_window(
    zone: ZoneInfo, previous: datetime, wait: Wait, key: str, spread: timedelta
) -> None:
    holidays: frozenset[date] = holiday_calendar("US", range(2025, 2029))
    due = due_time(previous, wait, OFFICE, zone, holidays, key, spread)
    assert due >= previous
    assert due >= next_allowed(previous + wait.delta - timedelta(hours=2), OFFICE, zone, holidays)
    local = due.astimezone(zone)
    assert local.weekday() < 5 and local.date() not in holidays
    assert OFFICE.start <= local.time() < OFFICE.end  # type: ignore[operator]
    assert due == due_time(previous, wait, OFFICE, zone, holidays, key, spread)


@given(st.datetimes(datetime(2025, 1, 1), datetime(2028, 1, 1), timezones=st.just(UTC)))
def test_a_zero_wait_in_an_open_window_is_due_at_once(previous: datetime) -> None:
    assert due_time(previous, Wait(), ALWAYS, NEW_YORK) == previous
