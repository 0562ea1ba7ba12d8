"""`nurture report rebuild`: every summary the reports read (store/report_models.py) recomputed
from the raw history — stage changes, leads, outbox and events — with the same functions the
writers use for the rows they touch (store/lead_paths.py, store/email_outcomes.py). The
migration that added the summaries fills them with it too.

It runs in the caller's transaction. On PostgreSQL it first locks the tables it reads against
writes, so nothing recorded meanwhile is counted twice or not at all; on SQLite the caller's
write transaction already does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    case,
    delete,
    exists,
    func,
    insert,
    select,
    update,
)

from nurture.reports.sql import ENROLLMENTS, day_number
from nurture.store.copy_rows import copy_rows, indexes_dropped
from nurture.store.email_outcomes import HANDED, OUTBOX, count_emails, outcome_bits
from nurture.store.lead_paths import (
    CHANGES,
    ENTRY_TABLE,
    LEAD_COLUMNS,
    LEAD_TABLE,
    TALLY_TABLE,
    SummaryRows,
    count,
    path_of,
)
from nurture.store.tallies import DAILY, Deltas

BATCH = 5000  # rows written per statement
LOCKED = ("lead", "stage_change", "outbox", "event", "stage_entry", "lead_tally",
          *(daily.table.name for daily in DAILY))


@dataclass(frozen=True)
class Rebuilt:
    """What a rebuild counted, and how long it took."""

    leads: int
    entries: int
    emails: int
    seconds: float


def rebuild(connection: Connection) -> Rebuilt:
    started = time.perf_counter()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"LOCK TABLE {', '.join(LOCKED)} IN SHARE ROW EXCLUSIVE MODE")
        # Plans over millions of rows need statistics: tables just filled may have none yet.
        connection.exec_driver_sql("ANALYZE lead, stage_change, outbox, event, enrollment")
    for table in (ENTRY_TABLE, TALLY_TABLE, *(daily.table for daily in DAILY)):
        connection.execute(delete(table))
    deltas = Deltas()
    with indexes_dropped(connection, ENTRY_TABLE):
        leads, entries = _rebuild_paths(connection, deltas)
    emails = _rebuild_outcomes(connection, deltas)
    deltas.write(connection, pending=False)
    return Rebuilt(leads, entries, emails, time.perf_counter() - started)


def _rebuild_paths(connection: Connection, deltas: Deltas) -> tuple[int, int]:
    """StageEntry, LeadTally and Lead.visited of every lead, and their Daily* counts."""
    rows = connection.execute(
        select(*(LEAD_TABLE.c[c] for c in LEAD_COLUMNS), CHANGES.c.from_stage, CHANGES.c.to_stage,
               CHANGES.c.at, CHANGES.c.id.label("change_id"))
        .outerjoin(CHANGES, CHANGES.c.lead_id == LEAD_TABLE.c.id)
        .order_by(LEAD_TABLE.c.id, CHANGES.c.at, CHANGES.c.id)
        .execution_options(yield_per=BATCH))
    writer = _Writer(connection, deltas)
    lead: Any = None
    changes: list[Any] = []
    for row in rows:
        if lead is not None and row.id != lead.id:
            writer.add(lead, changes)
            changes = []
        lead = row
        if row.change_id is not None:
            changes.append(_Change(row.from_stage, row.to_stage, row.at, row.change_id))
    if lead is not None:
        writer.add(lead, changes)
    writer.flush()
    writer.set_visited()
    return writer.leads, writer.entries


@dataclass(frozen=True)
class _Change:
    from_stage: str | None
    to_stage: str
    at: Any
    id: int


class _Writer:
    """Rows of the lead summaries, copied in a batch at a time; Lead.visited set at the end."""

    def __init__(self, connection: Connection, deltas: Deltas) -> None:
        self.connection, self.deltas = connection, deltas
        self.rows = SummaryRows()
        self.visited: list[tuple[int, str]] = []
        self.leads = self.entries = 0

    def add(self, lead: Any, changes: list[_Change]) -> None:
        path = path_of(lead, changes)
        self.rows.add(path)
        if lead.visited != path.visited:
            self.visited.append((lead.id, path.visited))
        self.leads += 1
        self.entries += len(path.entries)
        if len(self.rows.entries) >= BATCH:
            self.flush()

    def flush(self) -> None:
        count(self.deltas, self.rows.entries, self.rows.tallies)
        self.rows.write(self.connection)

    def set_visited(self) -> None:
        """One UPDATE … FROM a temporary table: a million leads' new `visited` at once."""
        if not self.visited:
            return
        self.connection.exec_driver_sql(
            "CREATE TEMPORARY TABLE rebuilt_visited (id INTEGER PRIMARY KEY, visited TEXT)")
        copy_rows(self.connection, VISITED, ("id", "visited"), self.visited)
        self.connection.exec_driver_sql(
            "UPDATE lead SET visited = rebuilt_visited.visited FROM rebuilt_visited "
            "WHERE lead.id = rebuilt_visited.id")
        self.connection.exec_driver_sql("DROP TABLE rebuilt_visited")
        self.visited = []


TEMPORARY = MetaData()
VISITED = Table("rebuilt_visited", TEMPORARY, Column("id", Integer), Column("visited", String))
OUTCOMES = Table("rebuilt_outcomes", TEMPORARY, Column("email", Integer), Column("bits", Integer))


def _rebuild_outcomes(connection: Connection, deltas: Deltas) -> int:
    """Outbox.outcomes of every email from the events (only those that change are written),
    and DailyEmails: the emails handed over grouped in SQL by everything their count depends
    on, each group then counted as the writers count."""
    connection.exec_driver_sql("CREATE TEMPORARY TABLE rebuilt_outcomes "
                               "(email INTEGER PRIMARY KEY, bits INTEGER)")
    found = outcome_bits().subquery("found")
    connection.execute(insert(OUTCOMES).from_select(
        ["email", "bits"], select(found.c.email, found.c.bits).where(found.c.email.is_not(None))))
    connection.execute(update(OUTBOX).where(OUTBOX.c.id == OUTCOMES.c.email,
                                            OUTBOX.c.outcomes != OUTCOMES.c.bits)
                       .values(outcomes=OUTCOMES.c.bits))
    connection.execute(update(OUTBOX).where(OUTBOX.c.outcomes != 0,
                                            ~exists().where(OUTCOMES.c.email == OUTBOX.c.id))
                       .values(outcomes=0))
    connection.exec_driver_sql("DROP TABLE rebuilt_outcomes")
    day = day_number(case((OUTBOX.c.status == "sent", OUTBOX.c.sent_at),
                          else_=OUTBOX.c.created_at))
    keys = (day, ENROLLMENTS.c.sequence_id, OUTBOX.c.touch_index, OUTBOX.c.variant,
            OUTBOX.c.status, OUTBOX.c.outcomes)
    emails = 0
    for *key, status, outcomes, subject, n in connection.execute(
            select(*keys, func.min(OUTBOX.c.subject), func.count())
            .join_from(OUTBOX, ENROLLMENTS, ENROLLMENTS.c.id == OUTBOX.c.enrollment_id)
            .where(OUTBOX.c.status.in_(HANDED)).group_by(*keys)):
        count_emails(deltas, (int(key[0]), *key[1:]), status, outcomes, subject, int(n))
        emails += int(n)
    return emails
