"""The leads the dashboard lists: stale ones (in their stage longer than its `max_days`),
unassigned ones (open, in a stage of a sales or account team, with no owner), and a search by
the start of the email or by id.

Stale and unassigned take the report filters and select as the funnel's "stages now" does:
leads created in the period, disqualified ones left out — so the stale list holds exactly the
leads the funnel counts as over the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, String, and_, false, func, literal, or_, select

from nurture.core.sequences import Pipeline
from nurture.reports.filters import Filters
from nurture.reports.sql import LEADS, REPS

SHOWN = 200  # rows per list; the total is given too
OPEN_STATUSES = ("active", "paused")
LEFT_OUT = ("disqualified",)


@dataclass(frozen=True)
class LeadRow:
    id: int
    email: str
    name: str
    company: str | None
    stage: str
    status: str
    days_in_stage: float
    max_days: int | None
    score: float
    fit: str
    owner: str | None


@dataclass(frozen=True)
class LeadList:
    rows: list[LeadRow]
    total: int


def stale_leads(connection: Connection, pipeline: Pipeline, filters: Filters,
                now: datetime) -> LeadList:
    """Longest in their stage first."""
    over = [and_(LEADS.c.stage == stage.id,
                 LEADS.c.stage_entered_at < now - timedelta(days=stage.max_days))
            for stage in pipeline.stages if stage.max_days]
    conditions = [*_selected(filters, now), LEADS.c.status.not_in(LEFT_OUT),
                  or_(*over) if over else false()]
    return _list(connection, pipeline, conditions, now)


def unassigned_leads(connection: Connection, pipeline: Pipeline, filters: Filters,
                     now: datetime) -> LeadList:
    """Waiting longest first."""
    sales = [s.id for s in pipeline.stages if s.team != "marketing" and s.outcome is None]
    conditions = [*_selected(filters, now), LEADS.c.status.in_(OPEN_STATUSES),
                  LEADS.c.stage.in_(sales), LEADS.c.owner_id.is_(None)]
    return _list(connection, pipeline, conditions, now)


def find_leads(connection: Connection, pipeline: Pipeline, text: str, now: datetime) -> LeadList:
    """Leads whose email starts with `text` (ignoring case), or whose id it is."""
    return _list(connection, pipeline, [matching(text)], now)


def matching(text: str) -> ColumnElement[bool]:
    """SQL: the lead's email starts with `text` (ignoring case), or its id is `text`.

    A match anywhere in the email, name or company would read every lead; the start of the
    email is a range of the email's unique index on both databases (emails are stored in lower
    case; SQLite compares text, and PostgreSQL's C / C.UTF-8 collation, by code point, so
    the range holds exactly the emails that start with it)."""
    prefix = text.lower()
    matches = [LEADS.c.email >= _text(prefix)]
    after = _after(prefix)
    if after is not None:
        matches.append(LEADS.c.email < _text(after))
    found = [and_(*matches)]
    if text.isascii() and text.isdigit() and int(text) < 2**31:
        found.append(LEADS.c.id == int(text))
    return or_(*found)


def _text(value: str) -> ColumnElement[str]:
    """`value` bound as it is: the email column's type would strip and lowercase it."""
    return literal(value, String())


def _after(prefix: str) -> str | None:
    """The least text after every text that starts with `prefix`, in code point order (None
    when there is none: the prefix is only the last code point)."""
    head = prefix.rstrip(chr(0x10FFFF))
    if not head:
        return None
    code = ord(head[-1]) + 1
    return head[:-1] + chr(0xE000 if 0xD800 <= code < 0xE000 else code)  # no surrogates


def _selected(filters: Filters, now: datetime) -> list[ColumnElement[bool]]:
    return [filters.window(now).holds(LEADS.c.created_at), *filters.lead_conditions()]


def _list(connection: Connection, pipeline: Pipeline, conditions: list[ColumnElement[bool]],
          now: datetime) -> LeadList:
    total = connection.execute(select(func.count()).select_from(LEADS).where(*conditions))
    rows = connection.execute(
        select(LEADS.c.id, LEADS.c.email, LEADS.c.first_name, LEADS.c.last_name,
               LEADS.c.company, LEADS.c.stage, LEADS.c.status, LEADS.c.stage_entered_at,
               LEADS.c.score, LEADS.c.fit, REPS.c.name.label("owner"))
        .select_from(LEADS.outerjoin(REPS, REPS.c.id == LEADS.c.owner_id))
        .where(*conditions).order_by(LEADS.c.stage_entered_at, LEADS.c.id).limit(SHOWN))
    limits = {stage.id: stage.max_days for stage in pipeline.stages}
    return LeadList([
        LeadRow(row.id, row.email, " ".join(p for p in (row.first_name, row.last_name) if p),
                row.company, row.stage, row.status,
                (now - row.stage_entered_at).total_seconds() / 86400, limits.get(row.stage),
                row.score, row.fit, row.owner)
        for row in rows], int(total.scalar_one()))
