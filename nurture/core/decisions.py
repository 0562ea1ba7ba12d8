"""What to do with one due enrollment: send, skip, defer, stop or finish — and why.

`decide` is the single place these rules live; the dispatcher acts on what it returns.
It takes every fact it needs as data (the lead, the enrollment, the sequence, `now`) and
reads no clock and no database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from nurture.core.schedule import due_time
from nurture.core.sequences import Sequence
from nurture.core.windows import is_open, next_allowed

# Lead statuses that end every enrollment: nobody in these states is ever emailed again.
STOPPING_STATUSES = frozenset({"unsubscribed", "bounced", "suppressed", "disqualified",
                               "converted"})
DEFAULT_JITTER = timedelta(minutes=10)


@dataclass(frozen=True)
class LeadFacts:
    """What the decision needs to know of a lead."""

    id: int
    email: str
    status: str
    stage: str
    zone: ZoneInfo
    paused_until: datetime | None = None
    is_suppressed: bool = False
    holidays: Container[date] = frozenset()


@dataclass(frozen=True)
class EnrollmentFacts:
    """One lead in one sequence, as the queue handed it over."""

    id: int
    sequence_id: str
    stage: str
    position: int
    next_touch_at: datetime
    engagement: Mapping[str, bool] = field(default_factory=dict)  # opened/clicked/replied_in_…


@dataclass(frozen=True)
class Send:
    touch_index: int
    variant: int


@dataclass(frozen=True)
class Skip:
    touch_index: int
    reason: str


@dataclass(frozen=True)
class Defer:
    until: datetime
    reason: str


@dataclass(frozen=True)
class Stop:
    reason: str


@dataclass(frozen=True)
class Finish:
    reason: str = "sequence finished"


Decision = Send | Skip | Defer | Stop | Finish


def decide(sequence: Sequence, enrollment: EnrollmentFacts, lead: LeadFacts, now: datetime,
           conditions: Mapping[str, Any]) -> Decision:
    """The decision for a due enrollment. `conditions` is the lead-facts condition context."""
    if lead.status in STOPPING_STATUSES:
        return Stop(f"lead {lead.status}")
    if lead.is_suppressed:
        return Stop("lead suppressed")
    if lead.stage != enrollment.stage:
        return Stop("stage_changed")
    if lead.status == "paused" or (lead.paused_until and lead.paused_until > now):
        until = lead.paused_until if lead.paused_until and lead.paused_until > now else None
        return Defer(until or now + timedelta(days=1), "lead paused")
    if enrollment.position >= len(sequence.touches):
        return Finish()
    touch = sequence.touches[enrollment.position]
    skip = touch.skip_condition
    context = {**conditions, **enrollment.engagement, "touch_number": enrollment.position + 1}
    if skip is not None and skip.holds(context):
        return Skip(enrollment.position, f"skip_when: {touch.skip_when}")
    window = sequence.send_window.window
    if not is_open(now, window, lead.zone, lead.holidays):
        return Defer(next_allowed(now, window, lead.zone, lead.holidays), "outside send window")
    return Send(enrollment.position, choose_variant(lead.email, sequence.id,
                                                    enrollment.position, len(touch.subject)))


def choose_variant(email: str, sequence_id: str, touch_index: int, variants: int) -> int:
    """A/B variant for a lead: stable per lead and touch, evenly spread across leads."""
    if variants <= 1:
        return 0
    digest = hashlib.sha256(f"{email}|{sequence_id}|{touch_index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % variants


def next_touch_time(sequence: Sequence, position: int, after: datetime, lead: LeadFacts,
                    jitter_spread: timedelta = DEFAULT_JITTER) -> datetime | None:
    """When the touch at `position` falls due, counted from `after`; None past the last touch.

    The jitter is stable per lead, sequence and touch, so a recomputation lands on the same time.
    """
    if position >= len(sequence.touches):
        return None
    touch = sequence.touches[position]
    return due_time(after, touch.delay, sequence.send_window.window, lead.zone, lead.holidays,
                    jitter_key=f"{lead.id}:{sequence.id}:{position}",
                    jitter_spread=jitter_spread)
