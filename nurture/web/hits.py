"""Recording a tracking hit: find the email it is for, judge whether a machine made it, and
store it as an "opened" or "clicked" event through `record_event` (source "tracking").

A human click on an email with no human open recorded also records an open at the same
instant: the reader must have opened it (images were blocked, or the pixel was stripped), as
ESPs count it. A burst of clicks flags the earlier hits of the burst too, since the first link
a scanner follows looks like a person's click until the second one comes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from sqlalchemy import Connection, Row, select, update

from nurture.core.machine import RECENT_WINDOW, Hit, Verdict, classify_hit
from nurture.engine.events import EVENTS, NewEvent, record_event
from nurture.engine.tracking_links import TouchRef
from nurture.files.loader import Project
from nurture.store.models import Outbox

OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
SOURCE = "tracking"
EVENT_TYPES = {"open": "opened", "click": "clicked"}
KINDS: dict[str, Literal["open", "click"]] = {"opened": "open", "clicked": "click"}


def record_hit(connection: Connection, project: Project, ref: TouchRef, hit: Hit) -> bool:
    """Store `hit` for the email `ref` names; False when no such email was ever written."""
    email = connection.execute(
        select(OUTBOX.c.id, OUTBOX.c.lead_id, OUTBOX.c.sent_at)
        .where(OUTBOX.c.enrollment_id == ref.enrollment_id,
               OUTBOX.c.touch_index == ref.touch_index)
    ).first()
    if email is None:
        return False
    recent = _recent_hits(connection, email.id, hit)
    verdict = classify_hit(hit, email.sent_at, [h for _, h in recent])
    if hit.kind == "click" and not verdict.machine and not _has_human_open(connection, email.id):
        implied = replace(hit, kind="open", url=None)
        _record(connection, project, email, implied, verdict, implied_by="click")
    _record(connection, project, email, hit, verdict)
    if verdict.reason == "burst":
        _flag_burst(connection, [event_id for event_id, _ in recent])
    return True


def _record(connection: Connection, project: Project, email: Row[Any], hit: Hit,
            verdict: Verdict, implied_by: str | None = None) -> None:
    data: dict[str, Any] = {"ua": hit.user_agent, "ip": hit.ip}
    if hit.url is not None:
        data = {"url": hit.url, **data}
    if verdict.machine:
        data["machine_reason"] = verdict.reason
    if implied_by:
        data["implied_by"] = implied_by
    record_event(connection, project, NewEvent(
        lead_id=email.lead_id, type=EVENT_TYPES[hit.kind], at=hit.at, data=data,
        outbox_id=email.id, machine=verdict.machine, source=SOURCE))


def _recent_hits(connection: Connection, outbox_id: int, hit: Hit) -> list[tuple[int, Hit]]:
    """The email's tracking hits within RECENT_WINDOW before `hit`, with their event ids."""
    rows = connection.execute(
        select(EVENTS.c.id, EVENTS.c.type, EVENTS.c.at, EVENTS.c.data)
        .where(EVENTS.c.outbox_id == outbox_id, EVENTS.c.source == SOURCE,
               EVENTS.c.at >= hit.at - RECENT_WINDOW, EVENTS.c.at <= hit.at)
    )
    return [(row.id, Hit(KINDS[row.type], str(row.data.get("ua", "")),
                         str(row.data.get("ip", "")), row.at, row.data.get("url")))
            for row in rows if row.type in KINDS]


def _has_human_open(connection: Connection, outbox_id: int) -> bool:
    found = connection.execute(
        select(EVENTS.c.id).where(EVENTS.c.outbox_id == outbox_id, EVENTS.c.type == "opened",
                                  EVENTS.c.machine.is_(False)).limit(1)
    ).first()
    return found is not None


def _flag_burst(connection: Connection, event_ids: list[int]) -> None:
    if event_ids:
        connection.execute(update(EVENTS).where(EVENTS.c.id.in_(event_ids))
                           .values(machine=True))
