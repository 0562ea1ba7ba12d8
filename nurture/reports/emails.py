"""What happened to the emails sent in a period, counted per sequence, touch and subject variant:
how many were sent, and how many were opened, clicked, replied to, unsubscribed from or bounced.

An email counts as sent when the mail server took it (status "sent", at `sent_at`) or refused it
with a bounce (status "failed" with a bounced event, at `created_at`). Each outcome counts once
per email, from events by people (never machine-flagged ones). An event that names no email is
credited to the last email sent to its lead before it, unless that email has such an event of its
own. The outcomes are kept on each email (store/email_outcomes.py) and counted per day
(DailyEmails); whole days are read from the daily counts, the rest from the emails.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, case, func, or_, select

from nurture.reports.filters import Filters, Window
from nurture.reports.periods import Period, in_ranges, period_of
from nurture.reports.sql import ENROLLMENTS, OUTBOX
from nurture.store.email_outcomes import BITS, BOUNCE_SEEN
from nurture.store.sql import unindexed
from nurture.store.tallies import EMAILS

COUNTED = ("opened", "clicked", "replied", "unsubscribed", "bounced")
Key = tuple[str, int, int]  # sequence, touch index, variant
DAILY = EMAILS.table


def email_counts(connection: Connection, filters: Filters,
                 window: Window) -> dict[Key, tuple[str, int, dict[str, int]]]:
    """Per key, in key order: a subject as sent, the emails sent, and per event type in COUNTED
    the emails that had one."""
    by_lead = replace(filters, sequence=None).selects_leads  # the sequence is in the key
    period = period_of(window, by_rows=by_lead)
    totals: dict[Key, list[Any]] = {}
    for query in (_daily(period, filters.sequence), *_rows(period, filters, by_lead)):
        if query is None:
            continue
        for sequence, touch, variant, subject, *counts in _executed(connection, query, by_lead):
            found = totals.setdefault((sequence, int(touch), int(variant)),
                                      [None, *[0] * len(counts)])
            if subject is not None and (found[0] is None or subject < found[0]):
                found[0] = subject
            for index, n in enumerate(counts, start=1):
                found[index] += int(n or 0)
    return {key: (subject or "", sent, dict(zip(COUNTED, outcomes, strict=True)))
            for key, (subject, sent, *outcomes) in sorted(totals.items()) if sent}


# One source's emails are a fifth of the outbox, spread over it. PostgreSQL's planner scans
# the whole table and hashes it against the leads in parallel (1.8 s of work at 1M leads); a merge
# join of the leads' index with ix_outbox_lead_emails, both in lead order and read alone, does
# it in 0.8 s in one process, but it does not choose that (docs/performance.md).
_BY_LEAD_PLAN = {"enable_hashjoin": "off", "enable_seqscan": "off"}


def _executed(connection: Connection, query: Select, by_lead: bool) -> list[Any]:
    """`query`'s rows; on PostgreSQL a query filtered by lead is planned without hash joins or
    table scans, the connection's own settings put back once it has run."""
    if not by_lead or connection.dialect.name != "postgresql":
        return list(connection.execute(query))
    before = dict(zip(_BY_LEAD_PLAN, connection.execute(select(
        *(func.current_setting(name) for name in _BY_LEAD_PLAN))).one(), strict=True))
    _set(connection, _BY_LEAD_PLAN)
    try:
        return list(connection.execute(query))
    finally:
        _set(connection, before)


def _set(connection: Connection, settings: dict[str, str]) -> None:
    """Planner settings for the rest of the transaction, in one statement."""
    connection.execute(select(*(func.set_config(name, value, True)
                                for name, value in settings.items())))


def _daily(period: Period, sequence: str | None) -> Select | None:
    if not period.has_days:
        return None
    keys = (DAILY.c.sequence_id, DAILY.c.touch_index, DAILY.c.variant)
    query = (select(*keys, func.min(DAILY.c.subject), func.sum(DAILY.c.sent),
                    *(func.sum(DAILY.c[kind]) for kind in COUNTED))
             .where(period.days(DAILY.c.day)).group_by(*keys))
    return query.where(DAILY.c.sequence_id == sequence) if sequence is not None else query


def _rows(period: Period, filters: Filters, by_lead: bool) -> list[Select]:
    """The emails sent and those refused, each counted by a query of its own (summed by the
    caller): one query over their union would first copy every email into a temporary table."""
    if not period.edges:
        return []

    def counted(status: ColumnElement[bool], at: ColumnElement[datetime]) -> Select:
        keys = (ENROLLMENTS.c.sequence_id, OUTBOX.c.touch_index, OUTBOX.c.variant)
        sent = or_(OUTBOX.c.status == "sent", OUTBOX.c.outcomes.bitwise_and(BOUNCE_SEEN) != 0)
        query = (select(*keys, func.min(case((sent, OUTBOX.c.subject))),
                        func.sum(case((sent, 1), else_=0)),
                        *(func.sum(case((OUTBOX.c.outcomes.bitwise_and(BITS[kind]) != 0, 1),
                                        else_=0)) for kind in COUNTED))
                 .join_from(OUTBOX, ENROLLMENTS, ENROLLMENTS.c.id == OUTBOX.c.enrollment_id)
                 .where(status, in_ranges(at, period.edges)).group_by(*keys))
        if by_lead:
            query = query.where(filters.selects(OUTBOX.c.lead_id, sequence=False))
        return query.where(ENROLLMENTS.c.sequence_id == filters.sequence) \
            if filters.sequence is not None else query

    # Sent emails through their sent_at index, not the status index (nearly all are sent).
    return [counted(unindexed(OUTBOX.c.status) == "sent", OUTBOX.c.sent_at),
            counted(OUTBOX.c.status == "failed", OUTBOX.c.created_at)]
