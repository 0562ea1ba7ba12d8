"""Waits and durations as marketers write them: "0d", "3d", "36h", "90m", "1w", "2 business days".

A wait is either a plain duration (a timedelta) or a number of business days, which is
resolved against a calendar (weekends and holidays) by `windows.add_business_days`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from nurture.core.errors import DurationError

_UNITS = {
    "m": "minutes", "min": "minutes", "mins": "minutes", "minute": "minutes", "minutes": "minutes",
    "h": "hours", "hr": "hours", "hrs": "hours", "hour": "hours", "hours": "hours",
    "d": "days", "day": "days", "days": "days",
    "w": "weeks", "wk": "weeks", "week": "weeks", "weeks": "weeks",
}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_BUSINESS = re.compile(r"^(\d+)\s*(?:business|working)\s+days?$|^(\d+)\s*bd$")
MAX_WAIT = timedelta(days=3650)
MAX_BUSINESS_DAYS = 2600  # about ten years of weekdays


@dataclass(frozen=True)
class Wait:
    """How long to wait before a touch: `delta`, plus `business_days` counted on a calendar."""

    delta: timedelta = timedelta(0)
    business_days: int = 0

    def __str__(self) -> str:
        if self.business_days:
            return f"{self.business_days} business days"
        return str(self.delta)


def parse_wait(text: str) -> Wait:
    """Parse a wait; raise DurationError saying what forms are accepted."""
    if not isinstance(text, str):
        raise DurationError(f"a wait must be text such as \"3d\", not {type(text).__name__}")
    cleaned = text.strip().lower()
    business = _BUSINESS.match(cleaned)
    if business:
        digits = business.group(1) or business.group(2)
        if len(digits) > 4 or int(digits) > MAX_BUSINESS_DAYS:
            raise DurationError(f"{text!r} is longer than ten years")
        return Wait(business_days=int(digits))
    return Wait(delta=parse_duration(text))


def parse_duration(text: str) -> timedelta:
    """Parse "3d", "36h", "1d 12h", "90m", "2 weeks" into a timedelta."""
    cleaned = text.strip().lower() if isinstance(text, str) else ""
    position = 0
    total = timedelta(0)
    found = False
    for match in _PART.finditer(cleaned):
        if cleaned[position:match.start()].strip(" ,"):
            break
        unit = _UNITS.get(match.group(2))
        if unit is None:
            raise DurationError(
                f"unknown unit {match.group(2)!r} in {text!r}: "
                "use m, h, d, w or \"N business days\""
            )
        amount = float(match.group(1))
        if amount > (MAX_WAIT - total) / timedelta(**{unit: 1}):  # checked before it can overflow
            raise DurationError(f"{text!r} is longer than ten years")
        total += timedelta(**{unit: amount})
        position = match.end()
        found = True
    if not found or cleaned[position:].strip(" ,"):
        raise DurationError(
            f"{text!r} is not a duration: write e.g. \"0d\", \"3d\", \"36h\", \"1w\" "
            "or \"2 business days\""
        )
    return total
