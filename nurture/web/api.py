"""The event and lead API under /api (Bearer auth; OpenAPI at /api/openapi.json).

POST /api/leads              create or update a lead by email (e.g. from a web form)
POST /api/events             one event or a batch; stored all or nothing, idempotent by client_id
GET  /api/leads/{id}         the lead and its story
POST /api/leads/{id}/move    move the lead to another stage by hand, with a reason
A payload that does not validate gets 422 naming each field at fault; nothing of it is stored.
A new or changed lead, and the lead of each event, is scored and run through the stage rules
in the same transaction.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Response
from fastapi.exceptions import RequestValidationError
from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from nurture.engine.assess import WHY_CHANGED, News, assess_lead
from nurture.engine.events import EVENTS, LEADS, EventBatch, NewEvent, record_event
from nurture.engine.stages import MoveRefused, move_lead
from nurture.files.leads_csv import LEAD_FIELDS, LeadRow, lead_row_from_values
from nurture.files.loader import Project
from nurture.store.engine import writing
from nurture.store.leads import get_lead_by_email, lead_story, upsert_leads
from nurture.web.api_models import (
    MAX_ID,
    EventIn,
    EventsIn,
    EventsStored,
    LeadIn,
    LeadMoved,
    LeadSaved,
    LeadStoryOut,
    MoveIn,
    StoredEvent,
)
from nurture.web.auth import require_api_key
from nurture.web.state import WebContext, web_context

SOURCE = "api"
Context = Annotated[WebContext, Depends(web_context)]
Location = tuple[str | int, ...]
router = APIRouter(
    prefix="/api", tags=["api"], dependencies=[Depends(require_api_key)],
    responses={401: {"description": "no API key, or a wrong one"},
               413: {"description": "the request body is too large"}},
)


@router.post("/leads", response_model=LeadSaved,
             responses={201: {"model": LeadSaved, "description": "a new lead"}})
def save_lead(payload: LeadIn, response: Response, context: Context) -> LeadSaved:
    """Create the lead, or update the one with this email (200 updated, 201 created)."""
    row = _lead_row(payload)
    project, now = context.project(), context.clock.now()
    stage = _entry_stage(payload.stage, project)
    handoffs = 0
    with writing(context.engine) as connection:
        result = upsert_leads(connection, [row], stage, now)
        if result.inserted or result.updated:
            lead_id = connection.execute(select(LEADS.c.id)
                                         .where(LEADS.c.email == row.email)).scalar_one()
            handoffs = assess_lead(connection, project, lead_id, now,
                                   News(why=WHY_CHANGED if result.updated else None)).handoffs
    if handoffs:
        context.wake_handoffs()
    with Session(context.engine) as session:
        lead = get_lead_by_email(session, row.email)
    assert lead is not None
    response.status_code = 201 if result.inserted else 200
    return LeadSaved(created=bool(result.inserted), lead=lead)


@router.post("/events", response_model=EventsStored)
def save_events(payload: EventsIn, context: Context) -> EventsStored:
    """Store one event or a batch. Every event is checked before any is stored; an event whose
    client_id is already stored is reported as a duplicate and not stored again."""
    batch = isinstance(payload, list)
    events: list[EventIn] = payload if isinstance(payload, list) else [payload]
    where: list[Location] = [("body", "events", i) if batch else ("body", "event")
                             for i in range(len(events))]
    _check_unique_ids(events, where)
    try:
        return _store(context, events, where)
    except IntegrityError:  # a concurrent request stored one of these client_ids: look again
        return _store(context, events, where)


@router.get("/leads/{lead_id}", response_model=LeadStoryOut)
def get_lead(lead_id: Annotated[int, Path(ge=1, le=MAX_ID)], context: Context) -> LeadStoryOut:
    """The lead with its stage and score history, events, enrollments and emails."""
    with Session(context.engine) as session:
        story = lead_story(session, lead_id)
    if story is None:
        raise HTTPException(404, f"no lead with id {lead_id}")
    return LeadStoryOut(lead=story.lead, stage_changes=story.stage_changes,
                        score_changes=story.score_changes, events=story.events,
                        enrollments=story.enrollments, outbox=story.outbox)


@router.post("/leads/{lead_id}/move", response_model=LeadMoved,
             responses={404: {"description": "no lead with this id"}})
def move(lead_id: Annotated[int, Path(ge=1, le=MAX_ID)], payload: MoveIn,
         context: Context) -> LeadMoved:
    """Move the lead to another stage by hand: its sequences stop, the new stage's start, and
    the move is kept in its history with the reason given."""
    try:
        with writing(context.engine) as connection:
            moved = move_lead(connection, context.project(), lead_id, payload.stage,
                              payload.reason, context.clock.now())
    except MoveRefused as exc:
        raise RequestValidationError([_error(("body", "stage"), str(exc))]) from exc
    if moved is None:
        raise HTTPException(404, f"no lead with id {lead_id}")
    with Session(context.engine) as session:
        story = lead_story(session, lead_id)
    assert story is not None
    return LeadMoved(lead=story.lead, stage_change=story.stage_changes[-1])


def _lead_row(payload: LeadIn) -> LeadRow:
    values = {name: _text(getattr(payload, name)) for name in LEAD_FIELDS}
    try:
        return lead_row_from_values(values, payload.custom)  # type: ignore[arg-type]
    except ValueError as exc:
        problems = str(exc).split("; ")
    raise RequestValidationError([_error(("body", _field_of(p)), p) for p in problems])


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _field_of(problem: str) -> str:
    """The field a lead problem is about: the importer's messages start with its name."""
    first = problem.split(" ", 1)[0]
    return first if first in LEAD_FIELDS else "email"


def _entry_stage(stage: str | None, project: Project) -> str:
    stages = [s.id for s in project.pipeline.stages]
    if stage is None:
        return project.pipeline.first_stage
    if stage not in stages:
        raise RequestValidationError([_error(("body", "stage"), (
            f"no stage {stage!r} in pipeline.toml (stages: {', '.join(stages)})"))])
    return stage


def _check_unique_ids(events: list[EventIn], where: list[Location]) -> None:
    first: dict[str, int] = {}
    errors = []
    for index, event in enumerate(events):
        earlier = first.setdefault(event.client_id, index)
        if earlier != index:
            errors.append(_error((*where[index], "client_id"), (
                f"client_id {event.client_id!r} is also event {earlier} of this batch")))
    if errors:
        raise RequestValidationError(errors)


def _store(context: WebContext, events: list[EventIn], where: list[Location]) -> EventsStored:
    """All of the batch in one transaction, or (422, nothing written) none of it; the handoff
    job is woken (and on PostgreSQL every daemon's) once the transaction has committed a
    handoff request."""
    with writing(context.engine) as connection:
        stored, handoffs = _store_in(connection, context, events, where)
    if handoffs:
        context.wake_handoffs()
    return stored


def _store_in(connection: Connection, context: WebContext, events: list[EventIn],
              where: list[Location]) -> tuple[EventsStored, int]:
    lead_ids = _lead_ids(connection, events, where)
    stored_before: dict[str, int] = {row.client_id: row.id for row in connection.execute(
        select(EVENTS.c.client_id, EVENTS.c.id)
        .where(EVENTS.c.source == SOURCE, EVENTS.c.client_id.in_([e.client_id for e in events]))
    )}
    project, now = context.project(), context.clock.now()
    results = []
    batch = EventBatch()  # each lead is rescored and ruled once, after all its events
    for event, lead_id in zip(events, lead_ids, strict=True):
        event_id = stored_before.get(event.client_id)
        if event_id is None:
            event_id = record_event(connection, project, NewEvent(
                lead_id=lead_id, type=event.type, at=event.at or now, data=event.data,
                source=SOURCE, client_id=event.client_id), now, batch)
        results.append(StoredEvent(client_id=event.client_id, id=event_id,
                                   duplicate=event.client_id in stored_before))
    handoffs = batch.assess(connection, project, now).handoffs
    duplicates = sum(r.duplicate for r in results)
    stored = EventsStored(stored=len(results) - duplicates, duplicates=duplicates, events=results)
    return stored, handoffs


def _lead_ids(connection: Connection, events: list[EventIn], where: list[Location]) -> list[int]:
    """Each event's lead id; 422 naming every event whose lead does not exist."""
    ids = {e.lead_id for e in events if e.lead_id is not None}
    emails = {e.lead_email.strip().lower() for e in events if e.lead_email is not None}
    known_ids = set(connection.execute(select(LEADS.c.id).where(LEADS.c.id.in_(ids))).scalars())
    by_email: dict[str, int] = {row.email: row.id for row in connection.execute(
        select(LEADS.c.email, LEADS.c.id).where(LEADS.c.email.in_(emails)))}
    found: list[int] = []
    errors = []
    for event, location in zip(events, where, strict=True):
        if event.lead_email is not None:
            lead_id = by_email.get(event.lead_email.strip().lower())
            field, shown = "lead_email", event.lead_email
        else:
            lead_id = event.lead_id if event.lead_id in known_ids else None
            field, shown = "lead_id", str(event.lead_id)
        if lead_id is None:
            errors.append(_error((*location, field), f"no lead with {field} {shown}"))
        found.append(lead_id or 0)
    if errors:
        raise RequestValidationError(errors)
    return found


def _error(location: Location, message: str) -> dict[str, Any]:
    return {"type": "value_error", "loc": location, "msg": message}
