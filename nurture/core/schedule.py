"""When a touch becomes due: the previous touch's time, plus its wait, inside the send window.

Pure arithmetic on aware datetimes; the caller passes the time of the previous touch (or of
the enrollment, for the first touch) and gets back an aware UTC instant.
"""

from __future__ import annotations

from collections.abc import Container
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from nurture.core.durations import Wait
from nurture.core.windows import (
    SendWindow,
    add_business_days,
    add_local_days,
    jitter,
    next_allowed,
)


def due_time(
    previous: datetime,
    touch_wait: Wait,
    window: SendWindow,
    zone: ZoneInfo,
    holidays: Container[date] = (),
    jitter_key: str = "",
    jitter_spread: timedelta = timedelta(0),
) -> datetime:
    """The instant a touch becomes due, in UTC: after `previous` and its wait, inside the window.

    Whole days of a wait count on the lead's local calendar ("3d" after a 09:00 send is 09:00
    three days later, even across a DST change); the remainder is elapsed time. The jitter,
    stable per `jitter_key`, is added once the wait has landed in the window, so leads that the
    window holds back until it opens do not all fall due at its first second.
    """
    due = add_business_days(previous, touch_wait.business_days, zone, holidays)
    whole_days = touch_wait.delta.days
    due = add_local_days(due, whole_days, zone) + (touch_wait.delta - timedelta(days=whole_days))
    opening = next_allowed(due, window, zone, holidays)
    return next_allowed(opening + jitter(jitter_key, jitter_spread), window, zone, holidays)
