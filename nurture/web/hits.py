"""Recording tracking hits: find the email each is for, judge whether a machine made it, and
store it as an "opened" or "clicked" event through `record_events` (source "tracking").

Hits come in batches (group commit, nurture/web/group_commit.py), judged in arrival order and
stored in one transaction. The emails of a batch and their recent hits are read in one
statement; what the batch itself adds to an email is kept alongside, so a hit sees the ones
before it as if they had been stored one by one. The events are then stored in one statement,
and the leads the batch engaged are rescored and their rules applied once (`EventBatch`), still
before the commit that answers the hits.

A human click on an email with no human open recorded also records an open at the same
instant: the reader must have opened it (images were blocked, or the pixel was stripped), as
ESPs count it. A burst of clicks flags the earlier hits of the burst too, since the first link
a scanner follows looks like a person's click until the second one comes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, Select, and_, bindparam, exists, select, true, tuple_

from nurture.core.machine import RECENT_WINDOW, Hit, Verdict, classify_hit
from nurture.engine.events import EVENTS, EventBatch, NewEvent, flag_as_machine, record_events
from nurture.engine.tracking_links import TouchRef
from nurture.files.loader import Project
from nurture.store.models import Outbox

OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
SOURCE = "tracking"
EVENT_TYPES = {"open": "opened", "click": "clicked"}
KINDS: dict[str, Literal["open", "click"]] = {"opened": "open", "clicked": "click"}


def _emails_and_recent_events(dialect: str) -> Select[Any]:
    """Everything the hits of a batch need to know, in one round trip built once: each email
    (outbox row), whether a person has opened it, and its events from RECENT_WINDOW before the
    first hit to the last (one row each, or one row of NULLs). Hits come in at hundreds a
    second, so statement building and round trips count. The source is checked in Python, not
    in SQL: PostgreSQL would otherwise scan the index on (source, client_id), that is every
    tracking event ever stored, for each hit. On PostgreSQL both lookups are LATERAL, so they
    stay index lookups per email whatever the statistics say (a table of mostly recent events,
    as right after an import or in a benchmark, would otherwise get a scan of every event)."""
    recent_events = and_(EVENTS.c.at >= bindparam("since"), EVENTS.c.at <= bindparam("until"))
    opens = EVENTS.alias("human_open")
    human_open = and_(opens.c.outbox_id == OUTBOX.c.id, opens.c.type == "opened",
                      opens.c.machine.is_(False))
    email = (OUTBOX.c.enrollment_id, OUTBOX.c.touch_index, OUTBOX.c.id, OUTBOX.c.lead_id,
             OUTBOX.c.sent_at)
    if dialect != "postgresql":
        return (select(*email, exists().where(human_open).label("human_open"),
                       EVENTS.c.id.label("hit_id"), EVENTS.c.type.label("hit_type"),
                       EVENTS.c.source.label("hit_source"), EVENTS.c.at.label("hit_at"),
                       EVENTS.c.data.label("hit_data"))
                .outerjoin(EVENTS, and_(EVENTS.c.outbox_id == OUTBOX.c.id, recent_events)))
    recent = (select(EVENTS.c.id, EVENTS.c.type, EVENTS.c.source, EVENTS.c.at, EVENTS.c.data)
              .where(EVENTS.c.outbox_id == OUTBOX.c.id, recent_events).lateral("recent"))
    opened = select(true().label("seen")).where(human_open).limit(1).lateral("opened")
    return (select(*email, opened.c.seen.is_not(None).label("human_open"),
                   recent.c.id.label("hit_id"), recent.c.type.label("hit_type"),
                   recent.c.source.label("hit_source"), recent.c.at.label("hit_at"),
                   recent.c.data.label("hit_data"))
            .select_from(OUTBOX).outerjoin(opened, true()).outerjoin(recent, true()))


_SOME_EMAILS = {dialect: _emails_and_recent_events(dialect).where(
    tuple_(OUTBOX.c.enrollment_id, OUTBOX.c.touch_index).in_(bindparam("refs", expanding=True)))
    for dialect in ("sqlite", "postgresql")}


@dataclass
class _Recent:
    """A tracking hit on an email: stored before (`event_id`), or by this batch (`pending`,
    its index among the batch's new events)."""

    hit: Hit
    event_id: int | None = None
    pending: int | None = None


@dataclass
class _Email:
    id: int
    lead_id: int
    sent_at: datetime | None
    opened_before: bool  # a person's open was stored before this batch
    recent: list[_Recent] = field(default_factory=list)


def record_hits(connection: Connection, project: Project,
                hits: Sequence[tuple[TouchRef, Hit]]) -> list[bool]:
    """Store each hit for the email its ref names, in order; False for a hit on an email that
    was never written."""
    if not hits:
        return []
    emails = _read_emails(connection, hits)
    new: list[NewEvent] = []
    flagged: list[int] = []  # stored hits a burst showed to be a machine's
    stored = []
    for ref, hit in hits:
        email = emails.get(ref)
        stored.append(email is not None)
        if email is not None:
            _record_hit(email, hit, new, flagged)
    batch = EventBatch()
    record_events(connection, project, new, batch)
    flag_as_machine(connection, batch, flagged)
    batch.assess(connection, project, max(hit.at for _, hit in hits))
    return stored


def _read_emails(connection: Connection, hits: Sequence[tuple[TouchRef, Hit]]
                 ) -> dict[TouchRef, _Email]:
    """The emails of `hits` with their tracking hits from RECENT_WINDOW before the first hit."""
    times = [hit.at for _, hit in hits]
    found: dict[TouchRef, _Email] = {}
    for row in connection.execute(_SOME_EMAILS[connection.dialect.name], {
            "refs": sorted({(ref.enrollment_id, ref.touch_index) for ref, _ in hits}),
            "since": min(times) - RECENT_WINDOW, "until": max(times)}):
        ref = TouchRef(row.enrollment_id, row.touch_index)
        email = found.get(ref)
        if email is None:
            email = found[ref] = _Email(row.id, row.lead_id, row.sent_at, bool(row.human_open))
        if row.hit_source == SOURCE and row.hit_type in KINDS:
            email.recent.append(_Recent(Hit(KINDS[row.hit_type], str(row.hit_data.get("ua", "")),
                                            str(row.hit_data.get("ip", "")), row.hit_at,
                                            row.hit_data.get("url")), event_id=row.hit_id))
    return found


def _record_hit(email: _Email, hit: Hit, new: list[NewEvent], flagged: list[int]) -> None:
    recent = [r for r in email.recent if hit.at - RECENT_WINDOW <= r.hit.at <= hit.at]
    verdict = classify_hit(hit, email.sent_at, [r.hit for r in recent])
    if hit.kind == "click" and not verdict.machine and not _opened(email, new):
        _add(email, replace(hit, kind="open", url=None), verdict, new, implied_by="click")
    _add(email, hit, verdict, new)
    if verdict.reason == "burst":
        for earlier in recent:
            if earlier.pending is not None:
                new[earlier.pending] = replace(new[earlier.pending], machine=True)
            elif earlier.event_id is not None:
                flagged.append(earlier.event_id)


def _opened(email: _Email, new: list[NewEvent]) -> bool:
    """Whether a person has opened the email, counting the opens this batch stores."""
    return email.opened_before or any(
        new[r.pending].type == "opened" and not new[r.pending].machine
        for r in email.recent if r.pending is not None)


def _add(email: _Email, hit: Hit, verdict: Verdict, new: list[NewEvent],
         implied_by: str | None = None) -> None:
    data: dict[str, Any] = {"ua": hit.user_agent, "ip": hit.ip}
    if hit.url is not None:
        data = {"url": hit.url, **data}
    if verdict.machine:
        data["machine_reason"] = verdict.reason
    if implied_by:
        data["implied_by"] = implied_by
    email.recent.append(_Recent(hit, pending=len(new)))
    new.append(NewEvent(lead_id=email.lead_id, type=EVENT_TYPES[hit.kind], at=hit.at, data=data,
                        outbox_id=email.id, machine=verdict.machine, source=SOURCE))
