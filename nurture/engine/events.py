"""Recording engagement: every event, from any source (tracking hit, API, mailbox, simulator),
goes through `record_event`, which stores it and applies its immediate consequences — an
unsubscribe or a hard bounce stops all mail at once, a reply stops the sequences whose
`stop_on` names it — then rescores the lead, keeps the time of a human engagement as its
`last_engaged_at` (never moved back by an event recorded late) and applies the stage rules to
it, in the caller's transaction: a qualifying click moves the lead (and requests its handoff)
within the request that recorded it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from nurture.core.scoring import scored_types
from nurture.engine.assess import Assessed, News, assess_leads
from nurture.engine.bulk import insert_returning_ids
from nurture.engine.enroll import stop_enrollments
from nurture.files.loader import Project
from nurture.store.email_outcomes import COUNTED as OUTCOMES
from nurture.store.email_outcomes import note_events, refresh
from nurture.store.models import Enrollment, Event, Lead

EVENTS = Event.__table__  # type: ignore[attr-defined]
LEADS = Lead.__table__  # type: ignore[attr-defined]
ENROLLMENTS = Enrollment.__table__  # type: ignore[attr-defined]
ENGAGEMENT = frozenset({"opened", "clicked", "replied", "form_submitted", "page_visited",
                        "meeting_booked"})
# Events after which nobody may be mailed again, and the status they leave the lead in.
TERMINAL = {"unsubscribed": "unsubscribed", "complained": "suppressed", "bounced": "bounced"}


_COLUMNS = ("lead_id", "type", "at", "data", "outbox_id", "machine", "source", "client_id")
# Built once: on the tracking path, building a statement costs more than running it.
_SET_STATUS = (update(LEADS).where(LEADS.c.id == bindparam("lead_id"))
               .values(status=bindparam("status"), updated_at=bindparam("at")))
_RUNNING = select(ENROLLMENTS.c.sequence_id).where(
    ENROLLMENTS.c.lead_id == bindparam("lead_id"),
    ENROLLMENTS.c.status.in_(("active", "paused")))


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


def record_event(connection: Connection, project: Project, event: NewEvent,
                 now: datetime | None = None, batch: EventBatch | None = None) -> int:
    """Store `event` and apply its consequences in the caller's transaction; returns its id.
    `now` (default: the event's time) is when rules are applied: give it for an event that
    happened a while ago. With `batch`, the lead is assessed when the batch is
    (`EventBatch.assess`), once for all its events, rather than at once."""
    target = batch or EventBatch()
    [event_id] = record_events(connection, project, [event], target)
    if batch is None:
        target.assess(connection, project, now or event.at)
    return event_id


def record_events(connection: Connection, project: Project, events: Sequence[NewEvent],
                  batch: EventBatch) -> list[int]:
    """`record_event` for several events, stored in one statement in their order; their leads
    are assessed when `batch` is. Returns their ids, in order."""
    if not events:
        return []
    ids = insert_returning_ids(connection, EVENTS, _COLUMNS, [
        (event.lead_id, event.type, event.at, event.data, event.outbox_id, event.machine,
         event.source, event.client_id) for event in events])
    # The emails' outcomes, for the reports: counted when the batch is assessed, from the
    # events as stored (a caller flags a hit as a machine's before storing it).
    batch.outcomes += [event for event in events if event.type in OUTCOMES]
    for event, event_id in zip(events, ids, strict=True):
        if event.machine:
            continue
        status_changed = _stop_what_it_stops(connection, project, event)
        scores = event.type in scored_types(project.pipeline.scoring)
        if scores or status_changed or event.type in ENGAGEMENT:  # else no rule sees a change
            batch.add(event, event_id, scores)
    return ids


class EventBatch:
    """Leads whose events were stored but not yet assessed: pass it to `record_event` for each
    event of a batch (an API call, a group commit of tracking hits), then `assess` once."""

    def __init__(self) -> None:
        self.news: dict[int, News] = {}
        self.outcomes: list[NewEvent] = []  # stored events that are an email's outcome

    def add(self, event: NewEvent, event_id: int, scores: bool) -> None:
        news = self.news.setdefault(event.lead_id, News())
        news.event_ids.append(event_id)
        if event.type in ENGAGEMENT:
            news.engaged_at = max(filter(None, (news.engaged_at, event.at)))
        if scores:
            news.why = f"rescored after {event.type}"

    def assess(self, connection: Connection, project: Project, now: datetime) -> Assessed:
        """Count the emails' outcomes, rescore the leads and apply the rules to them at `now`;
        the batch is then empty."""
        outcomes, self.outcomes = self.outcomes, []
        note_events(connection, outcomes)
        news, self.news = self.news, {}
        return assess_leads(connection, project, news, now)


def flag_as_machine(connection: Connection, batch: EventBatch, event_ids: Sequence[int]) -> None:
    """Mark stored events as a machine's: a burst of clicks showed that hits which looked like
    a person's, stored by an earlier batch, were a scanner's. Their emails' outcomes are
    counted again from the events, and their leads rescored when `batch` is assessed."""
    if not event_ids:
        return
    leads = sorted(set(connection.execute(
        update(EVENTS).where(EVENTS.c.id.in_(event_ids)).values(machine=True)
        .returning(EVENTS.c.lead_id)).scalars()))
    refresh(connection, leads)
    for lead_id in leads:
        news = batch.news.setdefault(lead_id, News())
        news.why = news.why or "rescored: earlier hits found to be a machine's"


def _stop_what_it_stops(connection: Connection, project: Project, event: NewEvent) -> bool:
    """Apply the event's immediate consequences; True when it changed the lead's status."""
    status = TERMINAL.get(event.type)
    if status and (event.type != "bounced" or event.data.get("kind", "hard") == "hard"):
        connection.execute(_SET_STATUS, {"lead_id": event.lead_id, "status": status,
                                         "at": event.at})
        stop_enrollments(connection, event.lead_id, event.type, event.at)
        return True
    if not any(event.type in sequence.stop_on for sequence in project.sequences):
        return False
    stopping = _sequences_stopped_by(connection, project, event.lead_id, event.type)
    if stopping:
        stop_enrollments(connection, event.lead_id, event.type, event.at,
                         only_sequences=stopping)
    return False


def _sequences_stopped_by(connection: Connection, project: Project, lead_id: int,
                          event_type: str) -> list[str]:
    running = connection.execute(_RUNNING, {"lead_id": lead_id}).scalars()
    stopped = []
    for sequence_id in running:
        sequence = project.sequence(sequence_id)
        if sequence is not None and event_type in sequence.stop_on:
            stopped.append(sequence_id)
    return stopped
