"""Recording tracking hits: find the email each is for, judge whether a machine made it, and
store it as an "opened" or "clicked" event through `record_event` (source "tracking").

Hits come in batches (group commit, nurture/web/group_commit.py), stored in arrival order in
one transaction. The emails of a batch are read in one statement; a hit on an email that an
earlier hit of the same batch touched reads it again, so it sees what that one stored. The
leads the batch engaged are rescored and their rules applied once, at the end of the batch
(`EventBatch`), still before the commit that answers the hits.

A human click on an email with no human open recorded also records an open at the same
instant: the reader must have opened it (images were blocked, or the pixel was stripped), as
ESPs count it. A burst of clicks flags the earlier hits of the burst too, since the first link
a scanner follows looks like a person's click until the second one comes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Literal

from sqlalchemy import Connection, Row, and_, bindparam, exists, select, tuple_, update

from nurture.core.machine import RECENT_WINDOW, Hit, Verdict, classify_hit
from nurture.engine.events import EVENTS, EventBatch, NewEvent, record_event
from nurture.engine.tracking_links import TouchRef
from nurture.files.loader import Project
from nurture.store.models import Outbox

OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
SOURCE = "tracking"
EVENT_TYPES = {"open": "opened", "click": "clicked"}
KINDS: dict[str, Literal["open", "click"]] = {"opened": "open", "clicked": "click"}
_OPENS = EVENTS.alias("human_open")
# Everything a hit needs to know, in one round trip built once: the email (outbox row), whether
# a person has opened it, and its events within RECENT_WINDOW (one row each, or one row of
# NULLs). Hits come in at hundreds a second, so statement building and round trips count. The
# source is checked in Python, not in SQL: PostgreSQL would otherwise scan the index on
# (source, client_id), that is every tracking event ever stored, for each hit.
_EMAILS_AND_RECENT_EVENTS = (
    select(OUTBOX.c.enrollment_id, OUTBOX.c.touch_index, OUTBOX.c.id, OUTBOX.c.lead_id,
           OUTBOX.c.sent_at,
           exists().where(_OPENS.c.outbox_id == OUTBOX.c.id, _OPENS.c.type == "opened",
                          _OPENS.c.machine.is_(False)).label("human_open"),
           EVENTS.c.id.label("hit_id"), EVENTS.c.type.label("hit_type"),
           EVENTS.c.source.label("hit_source"), EVENTS.c.at.label("hit_at"),
           EVENTS.c.data.label("hit_data"))
    .outerjoin(EVENTS, and_(EVENTS.c.outbox_id == OUTBOX.c.id,
                            EVENTS.c.at >= bindparam("since"), EVENTS.c.at <= bindparam("until")))
)
_ONE_EMAIL = _EMAILS_AND_RECENT_EVENTS.where(OUTBOX.c.enrollment_id == bindparam("enrollment_id"),
                                             OUTBOX.c.touch_index == bindparam("touch_index"))
_SOME_EMAILS = _EMAILS_AND_RECENT_EVENTS.where(
    tuple_(OUTBOX.c.enrollment_id, OUTBOX.c.touch_index).in_(bindparam("refs", expanding=True)))
Email = list[Row[Any]]  # an email's rows from the statement above


def record_hits(connection: Connection, project: Project,
                hits: Sequence[tuple[TouchRef, Hit]]) -> list[bool]:
    """Store each hit for the email its ref names, in order; False for a hit on an email that
    was never written."""
    if not hits:
        return []
    first_reads = _read_emails(connection, hits)
    touched: set[TouchRef] = set()
    events = EventBatch()
    stored = []
    for ref, hit in hits:
        rows = _read_email(connection, ref, hit) if ref in touched else first_reads.get(ref, [])
        touched.add(ref)
        stored.append(bool(rows) and _record_hit(connection, project, events, rows, hit))
    events.assess(connection, project, max(hit.at for _, hit in hits))
    return stored


def _read_emails(connection: Connection, hits: Sequence[tuple[TouchRef, Hit]]
                 ) -> dict[TouchRef, Email]:
    """The emails of `hits` with their events from RECENT_WINDOW before the first hit on."""
    times = [hit.at for _, hit in hits]
    found: dict[TouchRef, Email] = {}
    for row in connection.execute(_SOME_EMAILS, {
            "refs": sorted({(ref.enrollment_id, ref.touch_index) for ref, _ in hits}),
            "since": min(times) - RECENT_WINDOW, "until": max(times)}):
        found.setdefault(TouchRef(row.enrollment_id, row.touch_index), []).append(row)
    return found


def _read_email(connection: Connection, ref: TouchRef, hit: Hit) -> Email:
    return list(connection.execute(_ONE_EMAIL, {
        "enrollment_id": ref.enrollment_id, "touch_index": ref.touch_index,
        "since": hit.at - RECENT_WINDOW, "until": hit.at}))


def _record_hit(connection: Connection, project: Project, events: EventBatch, rows: Email,
                hit: Hit) -> bool:
    email = rows[0]
    recent = _recent_hits(rows, hit)
    verdict = classify_hit(hit, email.sent_at, [h for _, h in recent])
    if hit.kind == "click" and not verdict.machine and not email.human_open:
        implied = replace(hit, kind="open", url=None)
        _record(connection, project, events, email, implied, verdict, implied_by="click")
    _record(connection, project, events, email, hit, verdict)
    if verdict.reason == "burst":
        _flag_burst(connection, [event_id for event_id, _ in recent])
    return True


def _record(connection: Connection, project: Project, events: EventBatch, email: Row[Any],
            hit: Hit, verdict: Verdict, implied_by: str | None = None) -> None:
    data: dict[str, Any] = {"ua": hit.user_agent, "ip": hit.ip}
    if hit.url is not None:
        data = {"url": hit.url, **data}
    if verdict.machine:
        data["machine_reason"] = verdict.reason
    if implied_by:
        data["implied_by"] = implied_by
    record_event(connection, project, NewEvent(
        lead_id=email.lead_id, type=EVENT_TYPES[hit.kind], at=hit.at, data=data,
        outbox_id=email.id, machine=verdict.machine, source=SOURCE), batch=events)


def _recent_hits(rows: Email, hit: Hit) -> list[tuple[int, Hit]]:
    """The email's tracking hits within RECENT_WINDOW before `hit`, with their event ids."""
    return [(row.hit_id, Hit(KINDS[row.hit_type], str(row.hit_data.get("ua", "")),
                             str(row.hit_data.get("ip", "")), row.hit_at,
                             row.hit_data.get("url")))
            for row in rows if row.hit_source == SOURCE and row.hit_type in KINDS
            and hit.at - RECENT_WINDOW <= row.hit_at <= hit.at]


def _flag_burst(connection: Connection, event_ids: list[int]) -> None:
    if event_ids:
        connection.execute(update(EVENTS).where(EVENTS.c.id.in_(event_ids))
                           .values(machine=True))
