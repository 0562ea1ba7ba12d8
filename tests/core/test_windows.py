"""Send windows: parsing, and the next allowed instant across time zones, DST and holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nurture.core.errors import WindowError
from nurture.core.windows import (
    SendWindow,
    add_business_days,
    add_local_days,
    holiday_calendar,
    jitter,
    next_allowed,
    parse_days,
    parse_window,
    parse_zone,
)

PARIS, NEW_YORK = ZoneInfo("Europe/Paris"), ZoneInfo("America/New_York")
KOLKATA, AUCKLAND = ZoneInfo("Asia/Kolkata"), ZoneInfo("Pacific/Auckland")
ST_JOHNS = ZoneInfo("America/St_Johns")
OFFICE = parse_window("mon-fri", "09:00", "17:30")
US_2026 = holiday_calendar("US", [2026])


def at(text: str) -> datetime:
    """An instant written with its local offset, e.g. "2026-03-08T03:00-04:00"."""
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("days", "expected"),
    [("mon-fri", {0, 1, 2, 3, 4}), ("weekdays", {0, 1, 2, 3, 4}), ("Mon,Wed,Fri", {0, 2, 4}),
     ("fri-mon", {4, 5, 6, 0}), ("tue-thu, sat", {1, 2, 3, 5}), ("daily", set(range(7)))],
)
def test_days_parse_to_weekday_numbers(days: str, expected: set[int]) -> None:
    assert parse_days(days) == expected


@pytest.mark.parametrize(
    ("parts", "message"),
    [(("mon-fry",), "is not a list of days"), (("mon-fri", "9am"), "is not a time of day"),
     (("mon-fri", "17:30", "09:00"), "must end after it starts"), (("",), "days must be text")],
)
def test_bad_windows_are_rejected_with_the_fix(parts: tuple[str, ...], message: str) -> None:
    with pytest.raises(WindowError, match=message):
        parse_window(*parts)


def test_a_window_may_end_at_midnight_and_a_zone_must_exist() -> None:
    assert parse_window("sat", "20:00", "24:00") == SendWindow(frozenset({5}), time(20), None)
    with pytest.raises(WindowError, match="'Mars/Olympus' is not an IANA time zone"):
        parse_zone("Mars/Olympus")


@pytest.mark.parametrize(
    ("zone", "window", "after", "expected"),
    [
        # inside the window: unchanged; end is exclusive; evening and weekend roll forward
        (PARIS, OFFICE, "2026-06-15T09:30+02:00", "2026-06-15T09:30+02:00"),
        (PARIS, OFFICE, "2026-06-15T17:30+02:00", "2026-06-16T09:00+02:00"),
        (PARIS, OFFICE, "2026-06-19T18:00+02:00", "2026-06-22T09:00+02:00"),
        (PARIS, OFFICE, "2026-06-20T11:00+02:00", "2026-06-22T09:00+02:00"),
        # Paris springs forward on Sunday 2026-03-29 and falls back on Sunday 2026-10-25
        (PARIS, OFFICE, "2026-03-27T18:00+01:00", "2026-03-30T09:00+02:00"),
        (PARIS, OFFICE, "2026-10-23T18:00+02:00", "2026-10-26T09:00+01:00"),
        (PARIS, parse_window("sun", "02:30", "05:00"), "2026-03-29T01:00+01:00",
         "2026-03-29T03:00+02:00"),
        # New York: 02:30 does not exist on 2026-03-08, the window opens at 03:00 EDT
        (NEW_YORK, parse_window("daily", "02:30", "17:30"), "2026-03-08T00:00-05:00",
         "2026-03-08T03:00-04:00"),
        (NEW_YORK, OFFICE, "2026-03-06T18:00-05:00", "2026-03-09T09:00-04:00"),
        # New York falls back on 2026-11-01: 01:00-01:30 happens twice, never go back in time
        (NEW_YORK, parse_window("daily", "01:00", "01:30"), "2026-11-01T01:10-04:00",
         "2026-11-01T01:10-04:00"),
        (NEW_YORK, parse_window("daily", "01:00", "01:30"), "2026-11-01T01:45-04:00",
         "2026-11-01T01:00-05:00"),
        (NEW_YORK, parse_window("daily", "00:30", "01:20"), "2026-11-01T01:45-04:00",
         "2026-11-01T01:00-05:00"),
        (NEW_YORK, parse_window("daily", "01:15", "01:30"), "2026-11-01T01:45-04:00",
         "2026-11-01T01:15-05:00"),
        (NEW_YORK, parse_window("daily", "01:00", "01:30"), "2026-11-01T01:40-05:00",
         "2026-11-02T01:00-05:00"),
        (NEW_YORK, OFFICE, "2026-10-30T18:00-04:00", "2026-11-02T09:00-05:00"),
        # no DST, a half-hour offset
        (KOLKATA, OFFICE, "2026-06-15T05:30+05:30", "2026-06-15T09:00+05:30"),
        # Auckland: Monday morning is still Sunday in UTC; 02:30 is skipped on 2026-09-27
        (AUCKLAND, OFFICE, "2026-09-25T18:00+12:00", "2026-09-28T09:00+13:00"),
        (AUCKLAND, parse_window("sun", "02:30", "04:00"), "2026-09-27T00:00+12:00",
         "2026-09-27T03:00+13:00"),
        (AUCKLAND, OFFICE, "2026-04-03T18:00+13:00", "2026-04-06T09:00+12:00"),
        (PARIS, parse_window("sat", "20:00", "24:00"), "2026-06-20T23:59+02:00",
         "2026-06-20T23:59+02:00"),
        # St John's fell back across midnight until 2010 (Sun 00:01 NDT became Sat 23:01 NST):
        # the next day can open first, and the day before can open again
        (ST_JOHNS, parse_window("sat-sun", "00:00", "23:59"), "2010-11-06T23:59:30-02:30",
         "2010-11-07T00:00-02:30"),
        (ST_JOHNS, parse_window("sat"), "2010-11-07T00:00:30-02:30", "2010-11-06T23:01-03:30"),
    ],
)
def test_next_allowed_is_the_first_instant_inside_the_local_window(
    zone: ZoneInfo, window: SendWindow, after: str, expected: str
) -> None:
    result = next_allowed(at(after).astimezone(UTC), window, zone)
    assert result == at(expected)
    assert result.utcoffset() == timedelta(0)


def test_next_allowed_skips_holidays_in_the_leads_calendar() -> None:
    christmas_eve_evening = at("2026-12-24T18:00-05:00")
    assert next_allowed(christmas_eve_evening, OFFICE, NEW_YORK, US_2026) == at(
        "2026-12-28T09:00-05:00"
    )
    assert next_allowed(christmas_eve_evening, OFFICE, NEW_YORK) == at("2026-12-25T09:00-05:00")


def test_a_window_that_never_opens_within_a_year_is_an_error() -> None:
    every_day = {date(2026, 1, 1) + timedelta(days=n) for n in range(800)}
    with pytest.raises(WindowError, match="never opens within 400 days"):
        next_allowed(at("2026-01-01T00:00+00:00"), OFFICE, PARIS, every_day)
    with pytest.raises(WindowError, match="allows no day"):
        next_allowed(at("2026-01-01T00:00+00:00"), SendWindow(days=frozenset()), PARIS)


def test_naive_datetimes_are_refused_rather_than_read_in_the_machines_zone() -> None:
    with pytest.raises(ValueError, match="must be an aware datetime"):
        next_allowed(datetime(2026, 6, 15, 9), OFFICE, PARIS)


NONE: frozenset[date] = frozenset()


@pytest.mark.parametrize(
    ("zone", "holidays", "start", "days", "expected"),
    [
        (PARIS, NONE, "2026-06-19T09:00+02:00", 1, "2026-06-22T09:00+02:00"),
        (PARIS, NONE, "2026-06-20T15:00+02:00", 1, "2026-06-22T15:00+02:00"),
        (PARIS, NONE, "2026-06-15T09:00+02:00", 5, "2026-06-22T09:00+02:00"),
        (NEW_YORK, US_2026, "2026-06-15T09:00-04:00", 5, "2026-06-23T09:00-04:00"),
        (NEW_YORK, NONE, "2026-03-06T09:00-05:00", 1, "2026-03-09T09:00-04:00"),
        (NEW_YORK, US_2026, "2026-12-24T09:00-05:00", 1, "2026-12-28T09:00-05:00"),
        (NEW_YORK, NONE, "2026-11-01T01:30-05:00", 0, "2026-11-01T01:30-05:00"),
        (AUCKLAND, NONE, "2026-09-25T10:00+12:00", 1, "2026-09-28T10:00+13:00"),
    ],
)
def test_business_days_keep_the_local_clock_time(
    zone: ZoneInfo, holidays: frozenset[date], start: str, days: int, expected: str
) -> None:
    assert add_business_days(at(start), days, zone, holidays) == at(expected)


def test_business_days_refuse_negatives_and_a_calendar_with_no_workdays() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        add_business_days(at("2026-06-15T09:00+02:00"), -1, PARIS)
    every_day = {date(2026, 6, 15) + timedelta(days=n) for n in range(800)}
    with pytest.raises(WindowError, match="no business day within 400 days"):
        add_business_days(at("2026-06-15T09:00+02:00"), 1, PARIS, every_day)


def test_local_days_keep_the_clock_time_across_dst() -> None:
    start = at("2026-10-30T09:00-04:00")
    assert add_local_days(start, 3, NEW_YORK) == at("2026-11-02T09:00-05:00")
    assert add_local_days(at("2026-11-01T01:30-05:00"), 0, NEW_YORK) == at("2026-11-01T01:30-05:00")


def test_local_days_take_the_first_of_a_repeated_time_and_skip_forward_over_a_missing_one() -> None:
    assert add_local_days(at("2026-10-31T01:30-04:00"), 1, NEW_YORK) == at("2026-11-01T01:30-04:00")
    second_half_past_two = at("2026-10-25T02:30+01:00")
    assert add_local_days(second_half_past_two, 154, PARIS) == at("2027-03-28T03:30+02:00")


def test_holiday_calendar_knows_countries_and_shrugs_at_unknown_ones() -> None:
    assert {date(2026, 12, 25), date(2026, 7, 3), date(2025, 12, 25)} <= holiday_calendar(
        "us", [2025, 2026]
    )
    assert date(2026, 7, 14) in holiday_calendar("FR", [2026])
    assert holiday_calendar("XX", [2026]) == frozenset()
    assert holiday_calendar(None, [2026]) == holiday_calendar("", [2026]) == frozenset()


def test_jitter_is_stable_across_runs_and_spreads_many_leads() -> None:
    # A fixed value: hash() would change with PYTHONHASHSEED, sha256 does not.
    assert jitter("ada@example.com", timedelta(minutes=10)) == timedelta(microseconds=255299040)
    offsets = [jitter(f"lead-{n}@example.com", timedelta(minutes=10)) for n in range(10_000)]
    assert len(set(offsets)) > 9_990
    assert max(offsets) - min(offsets) > timedelta(minutes=9, seconds=50)
    assert jitter("anyone", timedelta(0)) == jitter("anyone", -timedelta(1)) == timedelta(0)


# Properties -----------------------------------------------------------------------------------

ZONES = [ZoneInfo(name) for name in (
    "UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Pacific/Auckland",
    "Australia/Lord_Howe", "America/Santiago", "America/Havana", "Asia/Kathmandu",
)]
TRANSITIONS_2026 = [datetime(2026, m, d, h, tzinfo=UTC) for m, d, h in (
    (3, 8, 7), (11, 1, 6), (3, 29, 1), (10, 25, 1), (4, 4, 14), (9, 26, 14), (4, 5, 3), (9, 6, 4),
)]
quarter_hours = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))


@st.composite
def windows(draw: st.DrawFn) -> SendWindow:
    days = draw(st.frozensets(st.integers(0, 6), min_size=1))
    start = draw(quarter_hours)
    end = draw(st.one_of(st.none(), quarter_hours.filter(lambda t: t > start)))
    return SendWindow(days=days, start=start, end=end)


instants = st.one_of(
    st.datetimes(datetime(2025, 1, 1), datetime(2028, 12, 31), timezones=st.just(UTC)),
    st.builds(lambda base, shift: base + shift, st.sampled_from(TRANSITIONS_2026),
              st.timedeltas(-timedelta(days=2), timedelta(days=2))),
)


@st.composite
def holidays_near(draw: st.DrawFn, after: datetime) -> frozenset[date]:
    offsets = draw(st.frozensets(st.integers(-1, 12), max_size=8))
    return frozenset(after.date() + timedelta(days=n) for n in offsets)


def inside(
    instant: datetime, window: SendWindow, zone: ZoneInfo, holidays: frozenset[date]
) -> bool:
    """The window test written out again, independently of the code under test."""
    local = instant.astimezone(zone)
    return (local.weekday() in window.days and local.date() not in holidays
            and window.start <= local.time() and (window.end is None or local.time() < window.end))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ZONES), windows(), instants, st.data())
def test_next_allowed_is_never_early_always_inside_and_idempotent(
    zone: ZoneInfo, window: SendWindow, after: datetime, data: st.DataObject
) -> None:
    holidays = data.draw(holidays_near(after))
    result = next_allowed(after, window, zone, holidays)
    assert result >= after
    assert result.utcoffset() == timedelta(0)
    assert inside(result, window, zone, holidays)
    assert next_allowed(result, window, zone, holidays) == result


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(ZONES), windows(), instants)
def test_no_earlier_instant_is_inside_the_window(
    zone: ZoneInfo, window: SendWindow, after: datetime
) -> None:
    result = next_allowed(after, window, zone)
    assume(result - after <= timedelta(days=3))
    # Windows open and offsets change on whole minutes, so checking each minute is exhaustive.
    minute = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    assert result == after or not inside(after, window, zone, frozenset())
    while minute < result:
        assert not inside(minute, window, zone, frozenset()), minute
        minute += timedelta(minutes=1)


@given(st.text(max_size=40), st.timedeltas(timedelta(microseconds=1), timedelta(hours=2)))
def test_jitter_is_within_its_spread_and_stable(key: str, spread: timedelta) -> None:
    offset = jitter(key, spread)
    assert timedelta(0) <= offset < spread
    assert jitter(key, spread) == offset
