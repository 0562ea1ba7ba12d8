"""The enrollment sweep: leads flagged `needs_enrollment` (new, changed, or moved to a stage)
are enrolled in their stage's sequences and unflagged. The flag's partial index makes a sweep
cost what is flagged, not what is stored.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlmodel import Session

from nurture.engine.enroll import enroll
from nurture.files.loader import Project
from nurture.store.engine import writing
from nurture.store.models import Lead

LEADS = Lead.__table__  # type: ignore[attr-defined]


def enroll_pending(engine: Engine, project: Project, now: datetime, default_zone: str,
                   jitter: timedelta, batch_size: int = 1000, max_batches: int = 100) -> int:
    """Enroll flagged leads in batches of `batch_size`; returns how many leads were looked at."""
    seen = 0
    for _ in range(max_batches):
        with writing(engine) as connection, Session(bind=connection) as session:
            query = (select(Lead).where(LEADS.c.needs_enrollment.is_(True))
                     .order_by(LEADS.c.id).limit(batch_size)
                     # Locked until the flag is cleared, so a change that flags a lead again
                     # meanwhile waits and lands after it (no lost update); SQLite serializes
                     # writers anyway.
                     .with_for_update(skip_locked=True))
            leads = list(session.execute(query).scalars())
            if not leads:
                break
            for lead in leads:
                enroll(connection, lead, project, now, default_zone, jitter)
            connection.execute(update(LEADS).where(LEADS.c.id.in_([lead.id for lead in leads]))
                               .values(needs_enrollment=False))
        seen += len(leads)
        if len(leads) < batch_size:
            break
    return seen
