"""Enrollment: a lead in a stage runs that stage's sequences whose `enroll_when` holds.

Leaving the stage stops its open enrollments (`stage_changed`); entering a stage starts the new
stage's sequences. The unique (lead, sequence, stage_entered_at) key makes enrolling twice for
the same stay in a stage a no-op, whichever worker or retry tries it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, update

from nurture.core.decisions import STOPPING_STATUSES, next_touch_time
from nurture.engine.facts import condition_context, holiday_country, lead_facts
from nurture.files.loader import Project
from nurture.store.models import Enrollment, Lead
from nurture.store.sql import insert_ignoring_duplicates

ENROLLMENTS = Enrollment.__table__  # type: ignore[attr-defined]


def enroll(connection: Connection, lead: Lead, project: Project, now: datetime,
           default_zone: str, jitter: timedelta) -> list[str]:
    """Start the sequences of the lead's stage that it qualifies for; returns their ids."""
    if lead.status in STOPPING_STATUSES:
        return []
    context = condition_context(lead, now)
    started: list[str] = []
    for sequence in project.sequences_for(lead.stage):
        condition = sequence.enroll_condition
        if condition is not None and not condition.holds(context):
            continue
        facts = lead_facts(lead, default_zone, now,
                           holidays_in=holiday_country(sequence.send_window.holidays, lead))
        first = next_touch_time(sequence, 0, now, facts, jitter)
        values = {
            "lead_id": lead.id, "sequence_id": sequence.id, "stage": lead.stage,
            "stage_entered_at": lead.stage_entered_at, "position": 0, "next_touch_at": first,
            "status": "active", "created_at": now, "updated_at": now,
        }
        if insert_ignoring_duplicates(connection, ENROLLMENTS, values):
            started.append(sequence.id)
    return started


def stop_enrollments(connection: Connection, lead_id: int, reason: str, now: datetime,
                     *, only_sequences: list[str] | None = None) -> int:
    """Stop a lead's open enrollments (all, or those of `only_sequences`) with a reason."""
    statement = (
        update(ENROLLMENTS)
        .where(ENROLLMENTS.c.lead_id == lead_id, ENROLLMENTS.c.status.in_(("active", "paused")))
        .values(status="stopped", stop_reason=reason, next_touch_at=None, updated_at=now,
                lease_token=None, lease_expires_at=None, claimed_by=None)
    )
    if only_sequences is not None:
        statement = statement.where(ENROLLMENTS.c.sequence_id.in_(only_sequences))
    return connection.execute(statement).rowcount
