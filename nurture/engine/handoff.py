"""The handoff: a `handoff_requested` event (a rule with `handoff = true` fired) becomes an owner
for the lead and a note to that rep, with the lead's story, and a webhook POST if configured.

Each request is handled in one transaction that starts by inserting its `handoff` row: the
event id is unique there, so the insert is the claim — a second worker's insert waits for the
first and then finds the row (or, if the first rolled back, takes over). Notices are written
in the same transaction and sent after it commits (notices.py), so a crash never loses one.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, or_, select, update

from nurture.core.assignment import (
    Assignment,
    LeadProfile,
    RepState,
    assign,
    company_domain,
    company_key,
)
from nurture.engine.handoff_queue import HANDOFFS, Request, pending_requests, settle_floor
from nurture.engine.handoff_story import display_name, story_variables
from nurture.engine.notices import Note, NoticeWriter, RunReport, deliver_due
from nurture.engine.reps import LEADS, rep_states, save_credits, sla_deadline
from nurture.files.loader import Project
from nurture.mail.transport import Transport
from nurture.settings import Settings
from nurture.store.engine import writing
from nurture.store.sql import dialect_insert

BATCH = 100
log = logging.getLogger("nurture.handoff")


async def run_handoffs(engine: Engine, settings: Settings, project: Project,
                       transport: Transport, now: datetime) -> RunReport:
    """Handle pending handoff requests, then send due notices (this run's and retries)."""
    report = RunReport()
    # In a worker thread: the daemon's event loop keeps serving HTTP meanwhile, and on SQLite
    # a wait for the write lock holds up this thread, not the loop.
    handled = await asyncio.to_thread(_handle_pending, engine, settings, project, now)
    report.outcomes.update(handled)
    report.notices = await deliver_due(engine, settings, transport, now)
    return report


def _handle_pending(engine: Engine, settings: Settings, project: Project,
                    now: datetime) -> Counter[str]:
    """Handle up to BATCH pending requests, each in its own transaction; their outcomes."""
    outcomes: Counter[str] = Counter()
    writer = NoticeWriter(settings, now)
    with engine.connect() as connection:
        requests = pending_requests(connection, BATCH)
    for request in requests:
        try:
            outcome = _handle(engine, settings, project, writer, request, now)
        except Exception as exc:  # one bad request must not stop the others
            log.exception("handoff of lead %s (event %s) failed", request.lead_id,
                          request.event_id)
            outcome = _mark_failed(engine, request, now, f"internal error: {exc}")
        if outcome:
            outcomes[outcome] += 1
    if len(requests) < BATCH:
        settle_floor(engine, now)
    return outcomes


def _handle(engine: Engine, settings: Settings, project: Project, writer: NoticeWriter,
            request: Request, now: datetime) -> str | None:
    with writing(engine) as connection:
        handoff_id = _claim(connection, request, now)
        if handoff_id is None:
            return None  # another worker handled it
        lead = connection.execute(select(LEADS).where(LEADS.c.id == request.lead_id)).one()
        to_stage = request.data.get("to")
        stage = project.pipeline.stage(to_stage) if to_stage else None
        reps = rep_states(connection, closed_stages(project), lock=True)
        profile = LeadProfile(email=lead.email, company=lead.company, country=lead.country,
                              region=lead.region, industry=lead.industry,
                              owner_id=lead.owner_id, team=stage.team if stage else None)
        chosen = assign(profile, reps, settings.handoff.strategy, now,
                        company_owners=company_owners(connection, lead),
                        fallback=settings.handoff.fallback_rep)
        if chosen.rep_id is None:
            _record(connection, handoff_id, status="unassigned", reason=chosen.reason)
            _tell_manager_unassigned(connection, writer, handoff_id, lead, request, chosen)
            return "unassigned"
        rep = next(r for r in reps if r.id == chosen.rep_id)
        give_lead(connection, lead.id, rep.id, now)
        save_credits(connection, dict(chosen.credits))
        connection.execute(update(HANDOFFS).where(
            HANDOFFS.c.lead_id == lead.id, HANDOFFS.c.id != handoff_id,
            HANDOFFS.c.sla_due_at.is_not(None)).values(sla_state="superseded", sla_due_at=None))
        due = sla_deadline(connection, rep.id, now, settings.handoff.sla_working_hours)
        _record(connection, handoff_id, status="assigned", reason=chosen.reason, rep_id=rep.id,
                assigned_at=now, holders=[rep.id], sla_state="awaiting", sla_due_at=due)
        variables = handoff_variables(connection, settings, lead.id, rep, request.data,
                                      chosen.reason)
        writer.email(connection, handoff_note(f"handoff:{handoff_id}", lead.id, rep, variables))
        writer.webhook(connection, key=f"handoff:{handoff_id}:webhook", purpose="handoff",
                       template="_handoff_webhook.txt.j2", variables=variables,
                       lead_id=lead.id)
        return "assigned"


def _claim(connection: Connection, request: Request, now: datetime) -> int | None:
    statement = dialect_insert(connection, HANDOFFS).values(
        event_id=request.event_id, lead_id=request.lead_id, status="claimed", reason="",
        rule=request.data.get("rule"), from_stage=request.data.get("from"),
        to_stage=request.data.get("to"), created_at=now, holders=[],
    ).on_conflict_do_nothing(index_elements=[HANDOFFS.c.event_id]).returning(HANDOFFS.c.id)
    return connection.execute(statement).scalar()


def _record(connection: Connection, handoff_id: int, **values: Any) -> None:
    connection.execute(update(HANDOFFS).where(HANDOFFS.c.id == handoff_id).values(**values))


def _mark_failed(engine: Engine, request: Request, now: datetime, reason: str) -> str | None:
    """Record a request that cannot be handled, so it is not tried on every run."""
    try:
        with writing(engine) as connection:
            handoff_id = _claim(connection, request, now)
            if handoff_id is not None:
                _record(connection, handoff_id, status="failed", reason=reason[:500])
    except Exception:
        log.exception("could not record the failed handoff of event %s; it will be tried "
                      "again", request.event_id)
        return None
    return "failed"


def closed_stages(project: Project) -> list[str]:
    """Stages whose leads no longer count towards a rep's load: won and lost."""
    return [stage.id for stage in project.pipeline.stages if stage.outcome]


def company_owners(connection: Connection, lead: Any) -> dict[int, int]:
    """rep id → how many other leads of the lead's company (name or email domain) they own."""
    same: list[Any] = []
    if (key := company_key(lead.company)) is not None:
        same.append(func.lower(func.trim(LEADS.c.company)) == key)
    if (domain := company_domain(lead.email)) is not None:
        escaped = domain.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        same.append(LEADS.c.email.like(f"%@{escaped}", escape="\\"))
    if not same:
        return {}
    query = (select(LEADS.c.owner_id, func.count())
             .where(LEADS.c.owner_id.is_not(None), LEADS.c.id != lead.id, or_(*same))
             .group_by(LEADS.c.owner_id))
    return {owner: count for owner, count in connection.execute(query)}


def give_lead(connection: Connection, lead_id: int, rep_id: int, now: datetime) -> None:
    connection.execute(update(LEADS).where(LEADS.c.id == lead_id)
                       .values(owner_id=rep_id, updated_at=now))


def handoff_variables(connection: Connection, settings: Settings, lead_id: int, rep: RepState,
                      move: dict[str, Any], reason: str, *,
                      previous_rep: str | None = None) -> dict[str, Any]:
    """What _handoff.md.j2 and _handoff_webhook.txt.j2 see (documented in the templates)."""
    story = story_variables(connection, lead_id, rep.zone)
    return {
        **story,
        "rep": {"name": rep.name, "email": rep.email},
        "handoff": {"rule": move.get("rule") or "", "from": move.get("from") or "",
                    "to": move.get("to") or "", "reason": reason},
        "previous_rep": previous_rep,
        "sla_hours": f"{settings.handoff.sla_working_hours:g}",
        "contacted_command": f"nurture leads contacted {story['lead']['email']}",
        "sender": {"name": settings.sender.name, "email": settings.sender.email},
    }


def handoff_note(key: str, lead_id: int, rep: RepState, variables: dict[str, Any]) -> Note:
    lead = variables["lead"]
    company = f" at {lead['company']}" if lead.get("company") else ""
    verb = "passed to you" if variables.get("previous_rep") else "for you"
    return Note(key=f"{key}:email", purpose="handoff", to=(rep.name, rep.email),
                subject=f"New lead {verb}: {lead['name']}{company} (score {variables['score']}, "
                        f"fit {variables['fit']})",
                template="_handoff.md.j2", variables=variables, rep_id=rep.id, lead_id=lead_id)


def _tell_manager_unassigned(connection: Connection, writer: NoticeWriter, handoff_id: int,
                             lead: Any, request: Request, chosen: Assignment) -> None:
    manager = writer.settings.handoff.manager_email
    log.warning("no rep for lead %s (rule %s): %s", lead.email, request.data.get("rule"),
                chosen.reason)
    if not manager:
        return
    variables = {"lead": {"email": lead.email, "name": display_name(lead),
                          "company": lead.company or ""},
                 "handoff": {"rule": request.data.get("rule") or "", "reason": chosen.reason}}
    writer.email(connection, Note(
        key=f"handoff:{handoff_id}:unassigned", purpose="unassigned", to=("", manager),
        subject=f"No rep for {display_name(lead)}: {chosen.reason}",
        template="_handoff_unassigned.md.j2", variables=variables, lead_id=lead.id))
