"""Lead queries and the bulk upsert used by imports and the API.

An upsert never erases: a blank value keeps what is stored, and custom fields are merged
key by key. A row is written only when that merge changes something, so importing the same
file twice leaves every row (and its updated_at) as it was. The reports' summary of the leads
written (a new lead's entry into its first stage, its source, industry and deal value) is
brought up to date in the same transaction (store/lead_paths.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    Text,
    bindparam,
    cast,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Session

from nurture.files.leads_csv import LEAD_FIELDS, LeadRow
from nurture.store.lead_paths import refresh as refresh_paths
from nurture.store.models import Enrollment, Event, Lead, Outbox, ScoreChange, StageChange
from nurture.store.stage_sets import stage_set

LEADS: Table = Lead.__table__  # type: ignore[attr-defined]
ATTRIBUTES = tuple(name for name in LEAD_FIELDS if name != "email")
_IMPORTED = ("email", *ATTRIBUTES, "custom")  # the columns a file sets
_IN_CHUNK = 1000  # emails per IN (...) list, well under SQLite's 32766 parameters


@dataclass(frozen=True)
class UpsertResult:
    """How many leads of a batch were new, changed, or already as given."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class LeadStory:
    """Everything stored about one lead, each list oldest first: what the CLI shows for a lead."""

    lead: Lead
    stage_changes: list[StageChange] = field(default_factory=list)
    score_changes: list[ScoreChange] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    enrollments: list[Enrollment] = field(default_factory=list)
    outbox: list[Outbox] = field(default_factory=list)


def upsert_leads(
    session_or_conn: Session | Connection,
    rows: Sequence[LeadRow],
    default_stage: str,
    now: datetime,
) -> UpsertResult:
    """Insert new leads (in `default_stage`, entered at `now`) and update changed ones by email.

    Runs in the caller's transaction: a count of the emails already stored, then a single
    INSERT … ON CONFLICT statement, then the summary of the rows written. Within `rows` the
    last row for an email wins. The counts assume no one else writes these leads at the same
    moment.
    """
    latest = {row.email.strip().lower(): row for row in rows}
    if not latest:
        return UpsertResult()
    existing = _count_existing(session_or_conn, list(latest))
    dialect = (session_or_conn.get_bind() if isinstance(session_or_conn, Session)
               else session_or_conn).dialect.name
    if dialect == "postgresql":
        written = _upsert_postgresql(session_or_conn, latest, _new_lead(default_stage, now))
    elif dialect == "sqlite":
        written = _upsert_sqlite(session_or_conn, latest, _new_lead(default_stage, now))
    else:
        raise ValueError(f"lead upsert supports sqlite and postgresql, not {dialect}")
    connection = (session_or_conn.connection() if isinstance(session_or_conn, Session)
                  else session_or_conn)
    refresh_paths(connection, written)
    inserted = len(latest) - existing
    changed = len(written) - inserted
    return UpsertResult(inserted, changed, existing - changed)


def _count_existing(session_or_conn: Session | Connection, emails: list[str]) -> int:
    total = 0
    for start in range(0, len(emails), _IN_CHUNK):
        chunk = emails[start:start + _IN_CHUNK]
        query = select(func.count()).select_from(LEADS).where(LEADS.c.email.in_(chunk))
        total += session_or_conn.execute(query).scalar_one()
    return total


def _new_lead(stage: str, now: datetime) -> dict[str, Any]:
    """The columns a file does not set, as a new lead gets them."""
    return {
        "stage": stage, "status": "active", "paused_until": None, "score": 0.0, "fit": "D",
        "owner_id": None, "stage_entered_at": now, "last_engaged_at": None,
        "created_at": now, "updated_at": now, "needs_enrollment": True,
        "visited": stage_set([stage]),
    }


def _upsert_sqlite(
    session_or_conn: Session | Connection, latest: dict[str, LeadRow], new: dict[str, Any]
) -> list[int]:
    """The batch travels as one JSON array, taken apart by json_each: one parameter instead of
    one per value, so the work is SQLite's C code rather than per-value Python."""
    batch = json.dumps([
        {"email": email, **{name: getattr(row, name) for name in _IMPORTED[1:]}}
        for email, row in latest.items()
    ], ensure_ascii=False)
    source = func.json_each(bindparam("batch", batch, type_=Text)).table_valued("value")
    values = select(
        *(func.json_extract(source.c.value, f"$.{name}") for name in _IMPORTED),
        *(literal(value, LEADS.c[name].type) for name, value in new.items()),
    ).where(true())  # SQLite needs a WHERE here to tell the ON of ON CONFLICT from a join's ON
    statement = sqlite.insert(LEADS).from_select([*_IMPORTED, *new], values)
    statement = _on_conflict(
        statement,
        # json_patch and json() both write minified JSON: equal objects compare as equal text.
        current_custom=func.json(LEADS.c.custom),
        merged_custom=func.json_patch(LEADS.c.custom, statement.excluded.custom),
    )
    return list(session_or_conn.execute(statement).scalars())


def _upsert_postgresql(
    session_or_conn: Session | Connection, latest: dict[str, LeadRow], new: dict[str, Any]
) -> list[int]:
    """The batch travels as one array per column, unnested server-side: a handful of parameters
    instead of one per value, which psycopg would otherwise parse in Python."""
    columns = {
        "email": list(latest),
        **{name: [getattr(row, name) for row in latest.values()] for name in ATTRIBUTES},
        "custom": [json.dumps(row.custom) for row in latest.values()],
    }
    arrays = [
        bindparam(f"new_{name}", values, type_=ARRAY(Text if name == "custom" else
                                                     LEADS.c[name].type))
        for name, values in columns.items()
    ]
    source = func.unnest(*arrays).table_valued(*columns).render_derived()
    values = select(
        *(source.c[name] for name in _IMPORTED[:-1]),
        cast(source.c.custom, JSONB),
        *(literal(value, LEADS.c[name].type) for name, value in new.items()),
    )
    statement = postgresql.insert(LEADS).from_select([*_IMPORTED, *new], values)
    statement = _on_conflict(
        statement,
        current_custom=LEADS.c.custom,
        merged_custom=LEADS.c.custom.op("||")(statement.excluded.custom),
    )
    return list(session_or_conn.execute(statement).scalars())


def _on_conflict(statement: Any, current_custom: Any, merged_custom: Any) -> Any:
    """… ON CONFLICT (email) DO UPDATE, only where merging the new values changes something."""
    merged = {name: func.coalesce(statement.excluded[name], LEADS.c[name]) for name in ATTRIBUTES}
    changed = or_(
        current_custom.is_distinct_from(merged_custom),
        *(LEADS.c[name].is_distinct_from(value) for name, value in merged.items()),
    )
    return statement.on_conflict_do_update(
        index_elements=[LEADS.c.email],
        # Changed attributes may satisfy a sequence's enroll_when: the enrollment sweep looks again.
        set_={**merged, "custom": merged_custom, "updated_at": statement.excluded.updated_at,
              "needs_enrollment": True},
        where=changed,
    ).returning(LEADS.c.id)


def get_lead_by_email(session: Session, email: str) -> Lead | None:
    """The lead with this email, in any case, or None."""
    return session.execute(select(Lead).where(LEADS.c.email == email)).scalar_one_or_none()


def list_leads(
    session: Session,
    stage: str | None = None,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Lead]:
    """One page of leads, oldest first, optionally only those in `stage` and/or `status`."""
    query = select(Lead).order_by(LEADS.c.id).limit(limit).offset(offset)
    if stage is not None:
        query = query.where(LEADS.c.stage == stage)
    if status is not None:
        query = query.where(LEADS.c.status == status)
    return list(session.execute(query).scalars())


def lead_story(session: Session, lead_id: int) -> LeadStory | None:
    """The lead with its stage and score history, events, enrollments and messages."""
    lead = session.get(Lead, lead_id)
    if lead is None:
        return None
    return LeadStory(
        lead=lead,
        stage_changes=_history(session, StageChange, lead_id, "at"),
        score_changes=_history(session, ScoreChange, lead_id, "at"),
        events=_history(session, Event, lead_id, "at"),
        enrollments=_history(session, Enrollment, lead_id, "created_at"),
        outbox=_history(session, Outbox, lead_id, "created_at"),
    )


def _history(session: Session, model: Any, lead_id: int, order: str) -> list[Any]:
    table = model.__table__
    query = select(model).where(table.c.lead_id == lead_id).order_by(table.c[order], table.c.id)
    return list(session.execute(query).scalars())


def export_leads(session: Session) -> Iterator[dict[str, Any]]:
    """Every lead as a dict of its columns (custom as a dict), streamed in id order."""
    query = select(LEADS).order_by(LEADS.c.id).execution_options(yield_per=1000)
    for row in session.execute(query):
        yield dict(row._mapping)
