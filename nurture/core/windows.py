"""Send windows: the weekdays and local hours in which a lead may receive email.

Parsing lives here; the arithmetic (next allowed instant across time zones, DST and holidays)
is in the functions below it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise WindowError(f"{name!r} is not an IANA time zone (e.g. \"America/New_York\")") from exc
