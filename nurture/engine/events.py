"""Recording engagement: every event, from any source (tracking hit, API, mailbox, simulator),
goes through `record_event`, which stores it and applies its immediate consequences — an
unsubscribe or a hard bounce stops all mail at once, a reply stops the sequences whose
`stop_on` names it, and any human engagement updates `last_engaged_at`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from nurture.engine.enroll import stop_enrollments
from nurture.files.loader import Project
from nurture.store.models import Enrollment, Event, Lead

EVENTS = Event.__table__  # type: ignore[attr-defined]
LEADS = Lead.__table__  # type: ignore[attr-defined]
ENROLLMENTS = Enrollment.__table__  # type: ignore[attr-defined]
ENGAGEMENT = frozenset({"opened", "clicked", "replied", "form_submitted", "page_visited",
                        "meeting_booked"})
# Events after which nobody may be mailed again, and the status they leave the lead in.
TERMINAL = {"unsubscribed": "unsubscribed", "complained": "suppressed", "bounced": "bounced"}


@dataclass(frozen=True)
class NewEvent:
    lead_id: int
    type: str
    at: datetime
    data: dict[str, Any]
    outbox_id: int | None = None
    machine: bool = False
    source: str | None = None
    client_id: str | None = None


def record_event(connection: Connection, project: Project, event: NewEvent) -> int:
    """Store `event` and apply its consequences in the caller's transaction; returns its id."""
    event_id = int(connection.execute(insert(EVENTS).values(
        lead_id=event.lead_id, type=event.type, at=event.at, data=event.data,
        outbox_id=event.outbox_id, machine=event.machine, source=event.source,
        client_id=event.client_id,
    ).returning(EVENTS.c.id)).scalar_one())
    if event.machine:
        return event_id
    status = TERMINAL.get(event.type)
    if status and (event.type != "bounced" or event.data.get("kind", "hard") == "hard"):
        connection.execute(update(LEADS).where(LEADS.c.id == event.lead_id)
                           .values(status=status, updated_at=event.at))
        stop_enrollments(connection, event.lead_id, event.type, event.at)
        return event_id
    if event.type in ENGAGEMENT:
        connection.execute(update(LEADS).where(LEADS.c.id == event.lead_id)
                           .values(last_engaged_at=event.at))
    stopping = _sequences_stopped_by(connection, project, event.lead_id, event.type)
    if stopping:
        stop_enrollments(connection, event.lead_id, event.type, event.at,
                         only_sequences=stopping)
    return event_id


def _sequences_stopped_by(connection: Connection, project: Project, lead_id: int,
                          event_type: str) -> list[str]:
    running = connection.execute(
        select(ENROLLMENTS.c.sequence_id)
        .where(ENROLLMENTS.c.lead_id == lead_id, ENROLLMENTS.c.status.in_(("active", "paused")))
    ).scalars()
    stopped = []
    for sequence_id in running:
        sequence = project.sequence(sequence_id)
        if sequence is not None and event_type in sequence.stop_on:
            stopped.append(sequence_id)
    return stopped
