"""A rep's working hours ("09:00-17:00" on "mon-fri", in their time zone) and the arithmetic
of working time: the instant N working hours after another, for SLA clocks.

Working hours are a SendWindow, so time zones, DST and holidays behave as send windows do.
"""

from __future__ import annotations

from collections.abc import Container
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from nurture.core.errors import WindowError
from nurture.core.windows import SendWindow, next_allowed, parse_window


def parse_working_hours(hours: str, days: str = "mon-fri") -> SendWindow:
    """"09:00-17:00" (end "24:00" for midnight) on `days` ("mon-fri") as a window."""
    start, dash, end = hours.partition("-")
    if not dash:
        raise WindowError(f"{hours!r} is not a range of hours: write \"09:00-17:00\"")
    return parse_window(days, start.strip(), end.strip())


def add_working_time(start: datetime, duration: timedelta, window: SendWindow, zone: ZoneInfo,
                     holidays: Container[date] = ()) -> datetime:
    """The instant, aware UTC, at which `duration` of working time has passed since `start`.

    Time counts only inside the window, in `zone`, on days that are not holidays; time
    outside it (nights, weekends) does not count. Friday 16:00 plus 4 hours of 09:00-17:00
    on mon-fri is Monday 12:00. Elapsed time is real time: a day that loses an hour to DST
    inside the window has one working hour less.
    """
    if duration < timedelta(0):
        raise ValueError(f"working time must not be negative, got {duration}")
    moment = next_allowed(start, window, zone, holidays)
    remaining = duration
    while True:
        closes = _closing(moment, window, zone)
        if moment + remaining <= closes:
            return moment + remaining
        remaining -= closes - moment
        moment = next_allowed(closes, window, zone, holidays)


def _closing(moment: datetime, window: SendWindow, zone: ZoneInfo) -> datetime:
    """When the window that is open at `moment` closes on that local day, in UTC."""
    local = moment.astimezone(zone)
    if window.end is None:
        return datetime.combine(local.date() + timedelta(days=1), time(0), zone).astimezone(UTC)
    return datetime.combine(local.date(), window.end, zone).astimezone(UTC)
