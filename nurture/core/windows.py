"""Send windows: the weekdays and local hours in which a lead may receive email.

Parsing comes first; below it the arithmetic on aware datetimes: the next allowed instant across
time zones, DST and holidays, business days, holiday calendars and a stable per-lead jitter.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from holidays import country_holidays, list_supported_countries

from nurture.core.errors import WindowError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ALIASES = {
    "weekdays": "mon-fri",
    "weekends": "sat-sun",
    "everyday": "mon-sun",
    "every day": "mon-sun",
    "daily": "mon-sun",
    "all": "mon-sun",
}
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
SEARCH_DAYS = 400  # how far ahead a window may stay shut before it counts as never opening
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class SendWindow:
    """Weekdays (0 = Monday) and a local [start, end) time range; end 24:00 is written "24:00"."""

    days: frozenset[int] = field(default_factory=lambda: frozenset(range(7)))
    start: time = time(0, 0)
    end: time | None = None  # None means midnight at the end of the day

    def allows_all_the_time(self) -> bool:
        return len(self.days) == 7 and self.start == time(0, 0) and self.end is None


def parse_days(text: str) -> frozenset[int]:
    """Parse "mon-fri", "mon,wed,fri", "tue-thu, sat" or "weekdays" into weekday numbers."""
    if not isinstance(text, str) or not text.strip():
        raise WindowError("days must be text such as \"mon-fri\" or \"mon,wed,fri\"")
    spec = _ALIASES.get(text.strip().lower(), text.strip().lower())
    days: set[int] = set()
    for part in (p.strip() for p in spec.split(",")):
        bounds = [b.strip()[:3] for b in part.split("-")]
        if len(bounds) > 2 or any(b not in DAY_NAMES for b in bounds):
            raise WindowError(
                f"{text!r} is not a list of days: use mon, tue, wed, thu, fri, sat, sun, "
                "ranges such as \"mon-fri\", or \"weekdays\""
            )
        first, last = DAY_NAMES.index(bounds[0]), DAY_NAMES.index(bounds[-1])
        span = range(first, last + 1) if first <= last else [*range(first, 7), *range(0, last + 1)]
        days.update(span)
    return frozenset(days)


def parse_clock(text: str, *, allow_midnight_end: bool = False) -> time | None:
    """Parse "09:00"; "24:00" (end of day) returns None when allowed."""
    cleaned = text.strip() if isinstance(text, str) else ""
    if allow_midnight_end and cleaned == "24:00":
        return None
    match = _CLOCK.match(cleaned)
    if not match:
        raise WindowError(f"{text!r} is not a time of day: write HH:MM, e.g. \"09:00\"")
    return time(int(match.group(1)), int(match.group(2)))


def parse_window(days: str = "mon-sun", start: str = "00:00", end: str = "24:00") -> SendWindow:
    """Build a SendWindow from its three written parts; start must come before end."""
    start_time = parse_clock(start) or time(0, 0)
    end_time = parse_clock(end, allow_midnight_end=True)
    if end_time is not None and end_time <= start_time:
        raise WindowError(f"the window must end after it starts ({start} to {end})")
    return SendWindow(days=parse_days(days), start=start_time, end=end_time)


def parse_zone(name: str) -> ZoneInfo:
    """An IANA time zone such as "Europe/Paris"; WindowError names the bad value."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError) as exc:  # OSError: "America"
        raise WindowError(f"{name!r} is not an IANA time zone (e.g. \"America/New_York\")") from exc


def has_holiday_calendar(country: str) -> bool:
    """True when the holidays package knows public holidays for this ISO country code."""
    return country.strip().upper() in list_supported_countries()


def holiday_calendar(country: str | None, years: Iterable[int]) -> frozenset[date]:
    """Public holidays of an ISO country code ("US", "fr") for the given years.

    An unknown or missing country gives no holidays rather than an error: a lead's country is
    data, and a typo in it should not stop their sequence.
    """
    code = (country or "").strip().upper()
    if not code:
        return frozenset()
    try:
        calendar = country_holidays(code, years=sorted(set(years)))
    except NotImplementedError:
        return frozenset()
    return frozenset(calendar.keys())


def jitter(key: str, spread: timedelta) -> timedelta:
    """A stable offset in [0, spread) derived from `key`, so leads due together go out spread."""
    span = spread // _MICROSECOND
    if span <= 0:
        return timedelta(0)
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return timedelta(microseconds=int.from_bytes(digest[:8], "big") % span)


def is_open(instant: datetime, window: SendWindow, zone: ZoneInfo,
            holidays: Container[date] = ()) -> bool:
    """Whether `instant` falls inside the window, in local time, on an allowed non-holiday day."""
    local = _aware(instant, "instant").astimezone(zone)
    day = local.date()
    if day.weekday() not in window.days or day in holidays:
        return False
    return window.start <= local.time() and (window.end is None or local.time() < window.end)


def next_allowed(after: datetime, window: SendWindow, zone: ZoneInfo,
                 holidays: Container[date] = ()) -> datetime:
    """The earliest instant at or after `after` inside the window, as an aware UTC datetime.

    Each local day contributes the instants where the window can open: its start time (both
    occurrences on a fall-back day) and any UTC-offset change (a start time skipped by a
    spring-forward opens at the end of the gap). The earliest open one wins.
    """
    after = _aware(after, "after").astimezone(UTC)
    if is_open(after, window, zone, holidays):
        return after
    if not window.days:
        raise WindowError("the send window allows no day of the week: give it at least one day")
    first_day = after.astimezone(zone).date() - timedelta(days=1)
    for offset in range(SEARCH_DAYS):
        found = _open_candidates(first_day + timedelta(days=offset), after, window, zone, holidays)
        if found:
            # A fall-back across midnight can put the next day's opening first: look one day on.
            later = _open_candidates(first_day + timedelta(days=offset + 1), after, window, zone,
                                     holidays)
            return min(found + later)
    raise WindowError(
        f"the send window never opens within {SEARCH_DAYS} days after {after.isoformat()} "
        f"in {zone.key}: check its days and the holiday calendar"
    )


def add_local_days(start: datetime, days: int, zone: ZoneInfo) -> datetime:
    """The same local clock time `days` calendar days later, as aware UTC."""
    if days == 0:
        return _aware(start, "start").astimezone(UTC)
    local = start.astimezone(zone)
    return _at_local(local.date() + timedelta(days=days), local.time(), zone)


def add_business_days(start: datetime, days: int, zone: ZoneInfo,
                      holidays: Container[date] = ()) -> datetime:
    """The same local clock time `days` business days (Mon-Fri, not holidays) later, in UTC."""
    if days < 0:
        raise ValueError(f"business days must not be negative, got {days}")
    if days == 0:
        return _aware(start, "start").astimezone(UTC)
    local = start.astimezone(zone)
    day, remaining, idle = local.date(), days, 0
    while remaining:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in holidays:
            remaining, idle = remaining - 1, 0
            continue
        idle += 1
        if idle > SEARCH_DAYS:
            raise WindowError(
                f"no business day within {SEARCH_DAYS} days after {day - timedelta(days=idle)} "
                "in the holiday calendar"
            )
    return _at_local(day, local.time(), zone)


def _open_candidates(day: date, after: datetime, window: SendWindow, zone: ZoneInfo,
                     holidays: Container[date]) -> list[datetime]:
    """Instants >= `after` in the window where it can first open on local `day`."""
    if day.weekday() not in window.days or day in holidays:
        return []
    openings = [datetime.combine(day, window.start.replace(fold=fold), zone) for fold in (0, 1)]
    candidates = [after, *_transitions(day, zone), *(o.astimezone(UTC) for o in openings)]
    return [c for c in candidates if c >= after and is_open(c, window, zone, holidays)]


def _transitions(day: date, zone: ZoneInfo) -> list[datetime]:
    """The UTC instant, to the second, where the zone's offset changes around local `day`.

    Bisects one change: no zone in tzdata since 1990 changes its offset twice within 48 hours.
    """
    midnight = int(datetime.combine(day, time(0), zone).timestamp())
    low, high = midnight - 6 * 3600, midnight + 31 * 3600
    before = _offset(low, zone)
    if before == _offset(high, zone):
        return []
    while high - low > 1:
        middle = (low + high) // 2
        if _offset(middle, zone) == before:
            low = middle
        else:
            high = middle
    return [datetime.fromtimestamp(high, UTC)]


def _offset(timestamp: int, zone: ZoneInfo) -> timedelta | None:
    return datetime.fromtimestamp(timestamp, zone).utcoffset()


def _at_local(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """Local `day` at `clock` as UTC: the first of two occurrences; a skipped time moves forward."""
    return datetime.combine(day, clock.replace(fold=0), zone).astimezone(UTC)


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (in UTC), got naive {moment!r}")
    return moment
