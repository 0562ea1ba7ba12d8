"""Clocks. Only the daemon and the command line read time, and they do it through one of these,
so tests and the demo can move time without sleeping.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The real time, aware UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class AcceleratedClock:
    """Time that runs `speed` times faster than the wall clock from `start` (the demo's clock)."""

    def __init__(self, start: datetime, speed: float) -> None:
        self.start, self.speed = start, speed
        self._origin = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self._origin) * self.speed)


class ManualClock:
    """Time that moves only when told to (tests, simulations)."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta
