"""The rules sweep: leads whose `rules_due_at` has come (a day count their rules read ticked
over, a stage time limit passed, decay took another point, or they were imported or changed in
bulk) are assessed in batches — score, fit, rules — and given their next `rules_due_at`.

The partial index on `rules_due_at` makes a sweep cost what is due, not what is stored. Each
batch is one transaction over rows locked FOR NO KEY UPDATE SKIP LOCKED on PostgreSQL (an event
being recorded for one of them waits, or the sweep skips it), under SQLite's write lock there.
On PostgreSQL several processes may sweep at once (`workers`): SKIP LOCKED keeps them off each
other's leads, and each takes its own share of the ids so that they do not queue on the same
rows at all.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, or_, update

from nurture.engine.assess import assess, lead_row_params, lead_rows
from nurture.engine.stages import LEADS
from nurture.files.loader import Project
from nurture.heap import sweeping
from nurture.store.engine import make_engine, writing


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

    def add(self, other: SweepReport) -> None:
        for name in ("leads", "rescored", "score_changes", "moves", "handoffs", "batches"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def sweep_rules(engine: Engine, project: Project, now: datetime, batch_size: int = 500,
                max_batches: int | None = 100, workers: int = 1,
                share: tuple[int, int] | None = None) -> SweepReport:
    """Assess the leads due at `now`, `batch_size` per transaction, at most `max_batches`
    transactions (None: until none is due). A batch holds SQLite's write lock while it is
    assessed (some 0.1 ms a lead), so tracking hits wait at most that long for it.

    On PostgreSQL, with `workers` > 1, a sweep that finds more than one batch due goes on in
    that many processes at once, each over its own share of the leads (`share` (k, n): the
    leads whose id is k modulo n), each with at most `max_batches` batches: a sweep is
    CPU-bound Python, and one process uses one core. A sweep with little due stays in this
    process, so `workers` costs nothing on a quiet tick. On SQLite a sweep is one process:
    every batch writes, and SQLite has one writer."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    parallel = workers > 1 and share is None and engine.dialect.name == "postgresql"
    report = SweepReport()
    params = lead_row_params(project, now)
    with sweeping():  # a batch is many short-lived objects: fewer young collections
        while max_batches is None or report.batches < max_batches:
            with writing(engine) as connection:
                due = lead_rows(connection).where(LEADS.c.rules_due_at <= now)
                if share is not None:
                    due = due.where(LEADS.c.id % share[1] == share[0])
                due = (due.order_by(LEADS.c.rules_due_at).limit(batch_size)
                       .with_for_update(skip_locked=True, key_share=True))
                leads = connection.execute(due, params).all()
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
            if parallel:  # a full batch: more is due, worth the processes' start
                left = None if max_batches is None else max_batches - report.batches
                if left is None or left > 0:
                    report.add(_sweep_in_processes(engine, project, now, batch_size, left,
                                                   workers))
                break
    return report


def _sweep_in_processes(engine: Engine, project: Project, now: datetime, batch_size: int,
                        max_batches: int | None, workers: int) -> SweepReport:
    url = engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")  # no fork of a process holding connections
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        shares = [pool.submit(_sweep_share, url, project, now, batch_size, max_batches,
                              (k, workers)) for k in range(workers)]
        report = SweepReport()
        for share in shares:
            report.add(share.result())
    return report


def _sweep_share(url: str, project: Project, now: datetime, batch_size: int,
                 max_batches: int | None, share: tuple[int, int]) -> SweepReport:
    """In a worker process: sweep one share of the leads on an engine of its own."""
    engine = make_engine(url)
    try:
        return sweep_rules(engine, project, now, batch_size, max_batches, share=share)
    finally:
        engine.dispose()


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
