"""The daily digest: one email per rep per working day, at or after [handoff] digest_hour in
the rep's own time zone — new leads handed to them since the last digest, their leads past
their stage's `max_days`, and their open tasks due by the end of the day.

The notice key "digest:<rep id>:<local date>" records that the day's digest is done, so it is
sent once however often (and on however many workers) this runs; a day with nothing to say
uses up its key without an email. A rep out of office gets none.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, false, func, or_, select

from nurture.engine.handoff_queue import HANDOFFS
from nurture.engine.handoff_story import when
from nurture.engine.notices import NOTICES, Note, NoticeWriter, RunReport, deliver_due
from nurture.engine.reps import LEADS, OPEN_STATUSES, REPS, rep_state, working_window
from nurture.files.loader import Project
from nurture.mail.transport import Transport
from nurture.settings import Settings
from nurture.store.engine import writing
from nurture.store.models import Task

TASKS = Task.__table__  # type: ignore[attr-defined]
SHOWN = 25  # entries per list


async def run_digests(engine: Engine, settings: Settings, project: Project,
                      transport: Transport, now: datetime) -> RunReport:
    """Write the digests due at `now` and send due notices."""
    report = RunReport()
    writer = NoticeWriter(settings, now)
    with engine.connect() as connection:
        due = _due_reps(connection, settings.handoff.digest_hour, now)
    for row, day in due:
        with writing(engine) as connection:
            outcome = _write_digest(connection, writer, project, row, day, now)
        if outcome:
            report.outcomes[outcome] += 1
    report.notices = await deliver_due(engine, settings, transport, now)
    return report


def digest_key(rep_id: int, day: date) -> str:
    return f"digest:{rep_id}:{day.isoformat()}"


def _due_reps(connection: Connection, hour: int, now: datetime) -> list[tuple[Any, date]]:
    """Active reps for whom it is a working day, past the digest hour, with no digest yet."""
    due = []
    for row in connection.execute(select(REPS).where(REPS.c.active).order_by(REPS.c.id)):
        state = rep_state(row, 0)
        local = now.astimezone(state.zone)
        if local.hour >= hour and local.weekday() in working_window(row).days \
                and not state.is_away(now):
            due.append((row, local.date()))
    keys = [digest_key(row.id, day) for row, day in due]
    done = set(connection.execute(select(NOTICES.c.key).where(NOTICES.c.key.in_(keys)))
               .scalars()) if keys else set()
    return [(row, day) for row, day in due if digest_key(row.id, day) not in done]


def _write_digest(connection: Connection, writer: NoticeWriter, project: Project, row: Any,
                  day: date, now: datetime) -> str | None:
    zone = rep_state(row, 0).zone
    since = connection.execute(select(func.max(NOTICES.c.created_at)).where(
        NOTICES.c.rep_id == row.id, NOTICES.c.purpose == "digest")).scalar()
    fresh = _new_leads(connection, row.id, since or now - timedelta(days=1), zone)
    stale = _stale_leads(connection, project, row.id, now)
    end_of_day = datetime.combine(day + timedelta(days=1), time(0), zone)
    tasks = _tasks_due(connection, row.id, end_of_day, now, zone)
    key = digest_key(row.id, day)
    if not (fresh or stale or tasks):
        return "empty" if writer.skipped(connection, key=key, purpose="digest",
                                         rep_id=row.id) else None
    variables = {
        "rep": {"name": row.name, "email": row.email}, "day": f"{day:%A} {day.day} {day:%B}",
        "new_leads": fresh[:SHOWN], "more_new": max(0, len(fresh) - SHOWN),
        "stale_leads": stale[:SHOWN], "more_stale": max(0, len(stale) - SHOWN),
        "tasks": tasks[:SHOWN], "more_tasks": max(0, len(tasks) - SHOWN),
    }
    subject = (f"Your leads for {day:%a} {day.day} {day:%b}: {len(fresh)} new, "
               f"{len(stale)} stale, {len(tasks)} tasks due")
    written = writer.email(connection, Note(
        key=key, purpose="digest", to=(row.name, row.email), subject=subject,
        template="_digest.md.j2", variables=variables, rep_id=row.id))
    return "sent" if written else None


def _lead_columns() -> list[Any]:
    return [LEADS.c.email, LEADS.c.first_name, LEADS.c.last_name, LEADS.c.company,
            LEADS.c.stage, LEADS.c.score, LEADS.c.fit]


def _lead_entry(row: Any) -> dict[str, Any]:
    name = " ".join(p for p in (row.first_name, row.last_name) if p) or row.email
    return {"email": row.email, "name": name, "company": row.company or "", "stage": row.stage,
            "score": f"{row.score:.0f}", "fit": row.fit}


def _new_leads(connection: Connection, rep_id: int, since: datetime,
               zone: Any) -> list[dict[str, Any]]:
    query = (select(*_lead_columns(), HANDOFFS.c.assigned_at, HANDOFFS.c.rule)
             .join(LEADS, LEADS.c.id == HANDOFFS.c.lead_id)
             .where(HANDOFFS.c.rep_id == rep_id, HANDOFFS.c.assigned_at > since)
             .order_by(HANDOFFS.c.assigned_at))
    return [{**_lead_entry(row), "assigned": when(row.assigned_at, zone), "rule": row.rule or ""}
            for row in connection.execute(query)]


def _stale_leads(connection: Connection, project: Project, rep_id: int,
                 now: datetime) -> list[dict[str, Any]]:
    limits = [and_(LEADS.c.stage == stage.id,
                   LEADS.c.stage_entered_at <= now - timedelta(days=stage.max_days))
              for stage in project.pipeline.stages if stage.max_days]
    query = (select(*_lead_columns(), LEADS.c.stage_entered_at)
             .where(LEADS.c.owner_id == rep_id, LEADS.c.status.in_(OPEN_STATUSES),
                    or_(false(), *limits))
             .order_by(LEADS.c.stage_entered_at))
    return [{**_lead_entry(row), "days": (now - row.stage_entered_at).days}
            for row in connection.execute(query)]


def _tasks_due(connection: Connection, rep_id: int, before: datetime, now: datetime,
               zone: Any) -> list[dict[str, Any]]:
    query = (select(TASKS.c.title, TASKS.c.due_at, LEADS.c.email)
             .join(LEADS, LEADS.c.id == TASKS.c.lead_id)
             .where(TASKS.c.owner_id == rep_id, TASKS.c.done_at.is_(None),
                    TASKS.c.due_at < before)
             .order_by(TASKS.c.due_at))
    return [{"title": row.title, "lead": row.email, "due": when(row.due_at, zone),
             "overdue": row.due_at < now} for row in connection.execute(query)]
