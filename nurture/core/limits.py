"""Sending limits: a lead's frequency cap across sequences, and budgets for the sending mailbox
and each recipient domain. Touches over a limit are deferred to when the limit allows them,
never dropped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class LeadCap:
    """At most `per_day` emails in any 24 hours and `per_week` in any 7 days, to one lead."""

    per_day: int
    per_week: int


def lead_cap_allows(recent_sends: Iterable[datetime], now: datetime,
                    cap: LeadCap) -> datetime | None:
    """None when another email may go to the lead now, else the earliest instant it may.

    `recent_sends` are the lead's send times (any order); only the last week matters.
    """
    sends = sorted(t for t in recent_sends if t > now - WEEK)
    waits = [_free_at(sends, now, DAY, cap.per_day), _free_at(sends, now, WEEK, cap.per_week)]
    blocked = [w for w in waits if w is not None]
    return max(blocked) if blocked else None


def _free_at(sends: list[datetime], now: datetime, span: timedelta, limit: int) -> datetime | None:
    inside = [t for t in sends if t > now - span]
    if len(inside) < limit:
        return None
    # The window frees up when the oldest send that keeps it full slides out of it.
    return inside[len(inside) - limit] + span


@dataclass
class Budget:
    """How many more emails may go out now; the dispatcher spends it as it sends."""

    remaining: int

    def take(self) -> bool:
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True


def mailbox_budget(sent_last_hour: int, sent_last_day: int, per_hour: int, per_day: int) -> Budget:
    """What the sending mailbox may still send in this tick under its hourly and daily caps."""
    return Budget(max(0, min(per_hour - sent_last_hour, per_day - sent_last_day)))


class DomainRate:
    """At most `per_minute` emails to one recipient domain in any sliding minute."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.sent: dict[str, deque[datetime]] = {}

    def allows(self, domain: str, now: datetime) -> datetime | None:
        """None when one more may go to `domain` now, else when the next one may."""
        recent = self.sent.get(domain)
        if recent is None:
            return None
        while recent and recent[0] <= now - MINUTE:
            recent.popleft()
        if len(recent) < self.per_minute:
            return None
        return recent[0] + MINUTE

    def record(self, domain: str, now: datetime) -> None:
        self.sent.setdefault(domain, deque()).append(now)


def recipient_domain(email: str) -> str:
    return email.rpartition("@")[2].lower()
