"""What happened to the emails sent in a period, counted per sequence, touch and subject variant:
how many were sent, and how many were opened, clicked, replied to, unsubscribed from or bounced.

An email counts as sent when the mail server took it (status "sent", at `sent_at`) or refused it
with a bounce (status "failed" with a bounced event, at `created_at`). Each outcome counts once
per email, from events by people (never machine-flagged ones). An event that names no email is
credited to the last email sent to its lead before it, unless that email has such an event of its
own.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, exists, func, or_, select, union_all

from nurture.reports.filters import Filters, Window
from nurture.reports.sql import ENROLLMENTS, EVENTS, LEADS, OUTBOX

COUNTED = ("opened", "clicked", "replied", "unsubscribed", "bounced")
Key = tuple[str, int, int]  # sequence, touch index, variant
KEYS = (ENROLLMENTS.c.sequence_id, OUTBOX.c.touch_index, OUTBOX.c.variant)


def email_counts(connection: Connection, filters: Filters,
                 window: Window) -> dict[Key, tuple[str, int, dict[str, int]]]:
    """Per key, in key order: a subject as sent, the emails sent, and per event type in COUNTED
    the emails that had one."""
    sent = {(sequence, int(touch), int(variant)): (subject or "", int(n))
            for sequence, touch, variant, subject, n in connection.execute(
                _emails(filters).add_columns(func.min(OUTBOX.c.subject), func.count())
                .where(_sent_in(window)).group_by(*KEYS))}
    outcomes: dict[Key, dict[str, int]] = {}
    for sequence, touch, variant, kind, n in connection.execute(
            union_all(_direct(filters, window), _credited(filters, window))):
        found = outcomes.setdefault((sequence, int(touch), int(variant)), {})
        found[kind] = found.get(kind, 0) + int(n)
    return {key: (subject, n, outcomes.get(key, {})) for key, (subject, n) in sorted(sent.items())}


def _emails(filters: Filters) -> Select:
    """The emails (with their enrollment) of the leads and sequence `filters` select."""
    source: Any = OUTBOX.join(ENROLLMENTS, ENROLLMENTS.c.id == OUTBOX.c.enrollment_id)
    conditions = replace(filters, sequence=None).lead_conditions()
    if conditions:
        source = source.join(LEADS, LEADS.c.id == OUTBOX.c.lead_id)
    if filters.sequence is not None:
        conditions.append(ENROLLMENTS.c.sequence_id == filters.sequence)
    return select(*KEYS).select_from(source).where(*conditions)


def _handed_over(window: Window) -> ColumnElement[bool]:
    """Sent or refused in `window` (whether refused with a bounce is checked where it matters)."""
    return or_(and_(OUTBOX.c.status == "sent", window.holds(OUTBOX.c.sent_at)),
               and_(OUTBOX.c.status == "failed", window.holds(OUTBOX.c.created_at)))


def _sent_in(window: Window) -> ColumnElement[bool]:
    bounced = exists().where(EVENTS.c.outbox_id == OUTBOX.c.id, EVENTS.c.type == "bounced")
    return and_(_handed_over(window), or_(OUTBOX.c.status == "sent", bounced))


def _direct(filters: Filters, window: Window) -> Select:
    """(key…, type, emails) from the events that name their email."""
    return (_emails(filters).add_columns(EVENTS.c.type, func.count(OUTBOX.c.id.distinct()))
            .join(EVENTS, EVENTS.c.outbox_id == OUTBOX.c.id)
            .where(_handed_over(window), EVENTS.c.type.in_(COUNTED),
                   EVENTS.c.machine.is_(False))
            .group_by(*KEYS, EVENTS.c.type))


def _credited(filters: Filters, window: Window) -> Select:
    """(key…, type, emails) from the events that name no email, each credited to the last
    email sent to its lead before it."""
    earlier = OUTBOX.alias("earlier")
    last_sent = (select(earlier.c.id)
                 .where(earlier.c.lead_id == EVENTS.c.lead_id,  # sent_at: set once sent
                        earlier.c.sent_at <= EVENTS.c.at)
                 .order_by(earlier.c.sent_at.desc(), earlier.c.id.desc()).limit(1)
                 .scalar_subquery())
    unnamed = (select(EVENTS.c.type, last_sent.label("email"))
               .where(EVENTS.c.outbox_id.is_(None), EVENTS.c.type.in_(COUNTED),
                      EVENTS.c.machine.is_(False))
               .subquery("unnamed"))
    own = EVENTS.alias("own")
    has_own = exists().where(own.c.outbox_id == OUTBOX.c.id, own.c.type == unnamed.c.type,
                             own.c.machine.is_(False))
    return (_emails(filters).add_columns(unnamed.c.type, func.count(OUTBOX.c.id.distinct()))
            .join(unnamed, unnamed.c.email == OUTBOX.c.id)
            .where(_handed_over(window), ~has_own)
            .group_by(*KEYS, unnamed.c.type))
