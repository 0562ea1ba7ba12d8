"""The handoff SLA: a rep who records no `contacted` event for a handed-off lead within
[handoff] sla_working_hours of their own working hours gets a reminder; after as long again,
the lead goes to another rep (never one who already let it go) and the manager hears of it.
The new rep starts a fresh SLA. With nobody left to take it, the lead stays and only the
manager is told.

Only handoffs whose deadline has passed are read (ix_handoff_sla_due); whether the lead was
contacted is checked then, so recording a contact costs nothing here.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, exists, select, update

from nurture.core.assignment import LeadProfile, RepState, assign
from nurture.engine.handoff import (
    closed_stages,
    company_owners,
    give_lead,
    handoff_note,
    handoff_variables,
)
from nurture.engine.handoff_queue import EVENTS, HANDOFFS
from nurture.engine.handoff_story import display_name, when
from nurture.engine.notices import Note, NoticeWriter, RunReport, deliver_due
from nurture.engine.reps import LEADS, rep_states, save_credits, sla_deadline
from nurture.files.loader import Project
from nurture.mail.transport import Transport
from nurture.settings import Settings
from nurture.store.engine import writing

BATCH = 100
log = logging.getLogger("nurture.sla")


async def run_sla(engine: Engine, settings: Settings, project: Project, transport: Transport,
                  now: datetime) -> RunReport:
    """Act on every handoff whose SLA deadline is past at `now`, then send due notices."""
    report = RunReport()
    writer = NoticeWriter(settings, now)
    with engine.connect() as connection:
        due = connection.execute(select(HANDOFFS.c.id).where(HANDOFFS.c.sla_due_at <= now)
                                 .order_by(HANDOFFS.c.sla_due_at).limit(BATCH)).scalars().all()
    for handoff_id in due:
        with writing(engine) as connection:
            outcome = _step(connection, settings, project, writer, handoff_id, now)
        if outcome:
            report.outcomes[outcome] += 1
    report.notices = await deliver_due(engine, settings, transport, now)
    return report


def _step(connection: Connection, settings: Settings, project: Project, writer: NoticeWriter,
          handoff_id: int, now: datetime) -> str | None:
    query = select(HANDOFFS).where(HANDOFFS.c.id == handoff_id, HANDOFFS.c.sla_due_at <= now)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    handoff = connection.execute(query).one_or_none()
    if handoff is None:
        return None  # done meanwhile, or another worker has it
    lead = connection.execute(select(LEADS).where(LEADS.c.id == handoff.lead_id)).one()
    if handoff.rep_id is None or lead.owner_id != handoff.rep_id:
        return _close(connection, handoff_id, "owner_changed")
    if _was_contacted(connection, lead.id, handoff.assigned_at):
        return _close(connection, handoff_id, "contacted")
    reps = rep_states(connection, closed_stages(project), lock=True)
    rep = next(r for r in reps if r.id == handoff.rep_id)
    if handoff.sla_state == "awaiting":
        return _remind(connection, settings, writer, handoff, lead, rep)
    return _reassign(connection, settings, project, writer, handoff, lead, rep, reps, now)


def _close(connection: Connection, handoff_id: int, state: str) -> str:
    connection.execute(update(HANDOFFS).where(HANDOFFS.c.id == handoff_id)
                       .values(sla_state=state, sla_due_at=None))
    return state


def _was_contacted(connection: Connection, lead_id: int, since: datetime) -> bool:
    contacted = exists().where(EVENTS.c.lead_id == lead_id, EVENTS.c.type == "contacted",
                               EVENTS.c.at >= since)
    return bool(connection.execute(select(contacted)).scalar())


def _remind(connection: Connection, settings: Settings, writer: NoticeWriter, handoff: Any,
            lead: Any, rep: RepState) -> str:
    hours = settings.handoff.sla_working_hours
    again = sla_deadline(connection, rep.id, handoff.sla_due_at, hours)
    connection.execute(update(HANDOFFS).where(HANDOFFS.c.id == handoff.id)
                       .values(sla_state="reminded", sla_due_at=again))
    variables = {
        "lead": {"email": lead.email, "name": display_name(lead), "company": lead.company or ""},
        "rep": {"name": rep.name, "email": rep.email}, "sla_hours": f"{hours:g}",
        "assigned": when(handoff.assigned_at, rep.zone), "deadline": when(again, rep.zone),
        "contacted_command": f"nurture leads contacted {lead.email}",
    }
    writer.email(connection, Note(
        key=f"sla:{handoff.id}:{len(handoff.holders)}:reminder", purpose="sla_reminder",
        to=(rep.name, rep.email), subject=f"Reminder: contact {display_name(lead)} "
                                          f"(handed to you {variables['assigned']})",
        template="_sla_reminder.md.j2", variables=variables, rep_id=rep.id, lead_id=lead.id))
    return "reminded"


def _reassign(connection: Connection, settings: Settings, project: Project,
              writer: NoticeWriter, handoff: Any, lead: Any, rep: RepState,
              reps: list[RepState], now: datetime) -> str:
    stage = project.pipeline.stage(handoff.to_stage) if handoff.to_stage else None
    profile = LeadProfile(email=lead.email, company=lead.company, country=lead.country,
                          region=lead.region, industry=lead.industry, owner_id=None,
                          team=stage.team if stage else None)
    chosen = assign(profile, reps, settings.handoff.strategy, now,
                    company_owners=company_owners(connection, lead),
                    fallback=settings.handoff.fallback_rep, exclude=handoff.holders)
    taker = next((r for r in reps if r.id == chosen.rep_id), None)
    cycle = f"sla:{handoff.id}:{len(handoff.holders)}"
    if taker is None:
        outcome = _close(connection, handoff.id, "escalated")
    else:
        give_lead(connection, lead.id, taker.id, now)
        save_credits(connection, dict(chosen.credits))
        connection.execute(update(HANDOFFS).where(HANDOFFS.c.id == handoff.id).values(
            rep_id=taker.id, assigned_at=now, holders=[*handoff.holders, taker.id],
            reason=chosen.reason, sla_state="awaiting",
            sla_due_at=sla_deadline(connection, taker.id, now,
                                    settings.handoff.sla_working_hours)))
        move = {"rule": handoff.rule, "from": handoff.from_stage, "to": handoff.to_stage}
        variables = handoff_variables(connection, settings, lead.id, taker, move, chosen.reason,
                                      previous_rep=rep.name)
        writer.email(connection, handoff_note(cycle, lead.id, taker, variables))
        outcome = "reassigned"
    _tell_manager(connection, writer, cycle, lead, rep, taker, chosen.reason, handoff)
    return outcome


def _tell_manager(connection: Connection, writer: NoticeWriter, cycle: str, lead: Any,
                  rep: RepState, taker: RepState | None, reason: str, handoff: Any) -> None:
    manager = writer.settings.handoff.manager_email
    log.warning("%s did not contact %s in time; %s", rep.email, lead.email,
                f"passed to {taker.email}" if taker else f"nobody else can take it: {reason}")
    if not manager:
        return
    variables = {
        "lead": {"email": lead.email, "name": display_name(lead), "company": lead.company or ""},
        "rep": {"name": rep.name, "email": rep.email},
        "new_rep": {"name": taker.name, "email": taker.email} if taker else None,
        "reason": reason, "assigned": when(handoff.assigned_at, rep.zone),
        "sla_hours": f"{writer.settings.handoff.sla_working_hours:g}",
    }
    what = f"passed to {taker.name}" if taker else "nobody else can take it"
    writer.email(connection, Note(
        key=f"{cycle}:manager", purpose="sla_reassigned", to=("", manager),
        subject=f"{rep.name} did not contact {display_name(lead)} in time: {what}",
        template="_sla_reassigned.md.j2", variables=variables, lead_id=lead.id))
