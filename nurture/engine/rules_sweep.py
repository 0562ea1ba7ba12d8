"""The rules sweep: leads whose `rules_due_at` has come (a day count their rules read ticked
over, a stage time limit passed, decay took another point, or they were imported or changed in
bulk) are assessed in batches — score, fit, rules — and given their next `rules_due_at`.

The partial index on `rules_due_at` makes a sweep cost what is due, not what is stored. Each
batch is one transaction over rows locked FOR NO KEY UPDATE SKIP LOCKED on PostgreSQL (an event
being recorded for one of them waits, or the sweep skips it), under SQLite's write lock there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, or_, select, update

from nurture.engine.assess import assess
from nurture.engine.stages import LEADS
from nurture.files.loader import Project
from nurture.store.engine import writing


@dataclass
class SweepReport:
    """What a sweep did: leads assessed, scores rebuilt from events, score history rows,
    stage changes and handoff requests written, and transactions (batches) used."""

    leads: int = 0
    rescored: int = 0
    score_changes: int = 0
    moves: int = 0
    handoffs: int = 0
    batches: int = 0

    def __str__(self) -> str:
        return (f"{self.leads} leads assessed ({self.rescored} rescored from events), "
                f"{self.score_changes} score changes, {self.moves} stage changes, "
                f"{self.handoffs} handoffs in {self.batches} batches")


def sweep_rules(engine: Engine, project: Project, now: datetime, batch_size: int = 500,
                max_batches: int | None = 100) -> SweepReport:
    """Assess the leads due at `now`, `batch_size` per transaction, at most `max_batches`
    transactions (None: until none is due). A batch holds SQLite's write lock while it is
    assessed (some 0.1–0.3 ms a lead), so tracking hits wait at most that long for it."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    report = SweepReport()
    due = (select(LEADS).where(LEADS.c.rules_due_at <= now).order_by(LEADS.c.rules_due_at)
           .limit(batch_size).with_for_update(skip_locked=True, key_share=True))
    while max_batches is None or report.batches < max_batches:
        with writing(engine) as connection:
            leads = connection.execute(due).all()
            if not leads:
                break
            done = assess(connection, project, leads, now)
        report.batches += 1
        report.leads += done.leads
        report.rescored += done.rescored
        report.score_changes += done.score_changes
        report.moves += done.moves
        report.handoffs += done.handoffs
        if len(leads) < batch_size:
            break
    return report


def mark_due(connection: Connection, lead_ids: Iterable[int], now: datetime) -> None:
    """Have the next sweep look at these leads (e.g. the dispatcher, after sending to them:
    touches_sent and sequence_finished changed)."""
    ids = list(lead_ids)
    if ids:
        connection.execute(update(LEADS).where(
            LEADS.c.id.in_(ids), or_(LEADS.c.rules_due_at.is_(None), LEADS.c.rules_due_at > now)
        ).values(rules_due_at=now))


def mark_changed_due(connection: Connection, changed_at: datetime) -> int:
    """Have the next sweep look at every lead an import wrote at `changed_at` (its `updated_at`):
    one statement after the import, instead of work inside it. Returns the leads marked."""
    return int(connection.execute(update(LEADS).where(
        LEADS.c.updated_at == changed_at,
        or_(LEADS.c.rules_due_at.is_(None), LEADS.c.rules_due_at > changed_at),
    ).values(rules_due_at=changed_at)).rowcount)
