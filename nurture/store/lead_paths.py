"""A lead's path through the stages, as the reports count it, from its raw history: one entry
per stage entered (its creation included), what it adds to the Daily* tables, and `refresh`,
which brings the stored summary of some leads (StageEntry rows, LeadTally, Lead.visited and
their Daily* counts) in line with their history. Writers call it for the leads they changed
(store/leads.py after an upsert, engine/stages.py after moves); reports/rebuild.py uses the
same functions for every lead.

A lead's first stage is entered when it is created, and is the `from_stage` of its first change
(or its current stage, when it never moved); a creation stored as a change with no
`from_stage` is used as is. Entries are ordered by time, then the creation first, then as
recorded (stage change id).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    delete,
    select,
    update,
)

from nurture.store.copy_rows import copy_rows
from nurture.store.models import Lead, LeadTally, StageChange, StageEntry
from nurture.store.sql import in_list
from nurture.store.stage_sets import stage_set
from nurture.store.tallies import ENTRIES, GAPS, LEADS, Deltas, day_of

LEAD_TABLE = Lead.__table__  # type: ignore[attr-defined]
CHANGES = StageChange.__table__  # type: ignore[attr-defined]
ENTRY_TABLE = StageEntry.__table__  # type: ignore[attr-defined]
TALLY_TABLE = LeadTally.__table__  # type: ignore[attr-defined]
NONE = "(none)"  # a lead with no source or industry
SECOND = timedelta(seconds=1)
CHUNK = 1000
LEAD_COLUMNS = ("id", "created_at", "stage", "source", "industry", "deal_value", "visited")
ENTRY_COLUMNS = ("lead_id", "seq", "stage", "at", "prev_at", "earlier", "later", "tied",
                 "lead_created_at", "deal_value", "lead_source", "lead_industry")
TALLY_COLUMNS = ("lead_id", "day", "source", "industry", "visited", "deal_value")


@dataclass(frozen=True)
class LeadPath:
    """What the summary holds for one lead: StageEntry rows, its LeadTally row, `visited`."""

    entries: tuple[tuple[Any, ...], ...]  # values of ENTRY_COLUMNS
    tally: tuple[Any, ...]  # values of TALLY_COLUMNS
    visited: str


def count(deltas: Deltas, entries: Sequence[tuple[Any, ...]],
          tallies: Sequence[tuple[Any, ...]], sign: int = 1) -> None:
    """Add what some leads' entries (each lead's together, in order) and tallies count in the
    Daily* tables to `deltas` (sign -1: take it back)."""
    for key, n in entry_keys(entries).items():
        deltas.add(ENTRIES, key, (n,), sign)
    gaps: dict[tuple[Any, ...], tuple[int, int]] = {}
    for _, of_lead in groupby(entries, key=itemgetter(0)):
        gap_sums(list(of_lead), gaps)
    for key, (n, seconds) in gaps.items():
        deltas.add(GAPS, key, (n, seconds), sign)
    leads: Counter[tuple[Any, ...]] = Counter()
    values: dict[tuple[Any, ...], float] = {}
    for _, day, source, industry, visited, value in tallies:
        key = (day, source, industry, visited)
        leads[key] += 1
        values[key] = values.get(key, 0.0) + (value or 0.0)
    for key, n in leads.items():
        deltas.add(LEADS, key, (n, values[key]), sign)


def path_of(lead: Any, changes: Sequence[Any]) -> LeadPath:
    """The path of `lead` (a row of LEAD_COLUMNS) from its stage changes (rows of from_stage,
    to_stage, at, id), in order."""
    stages = [(change.to_stage, change.at, change.id) for change in changes]
    if not changes:
        stages.append((lead.stage, lead.created_at, 0))
    elif changes[0].from_stage is not None:
        stages.append((changes[0].from_stage, lead.created_at, 0))
    stages.sort(key=lambda entry: (entry[1], entry[2]))
    entries = []
    for seq, (stage, at, _) in enumerate(stages):
        before = [s for s, _, _ in stages[:seq]]
        after = stages[seq + 1:]
        prev_at = next((a for s, a, _ in reversed(stages[:seq]) if s == stage), None)
        entries.append((lead.id, seq, stage, at, prev_at, stage_set(before),
                        stage_set(s for s, _, _ in after),
                        stage_set(s for s, a, _ in after if a == at),
                        lead.created_at, lead.deal_value, _lower(lead.source),
                        _lower(lead.industry)))
    visited = stage_set(stage for stage, _, _ in stages)
    tally = (lead.id, day_of(lead.created_at), lead.source if lead.source is not None else NONE,
             lead.industry if lead.industry is not None else NONE, visited, lead.deal_value)
    return LeadPath(tuple(entries), tally, visited)


def _lower(text: str | None) -> str | None:
    return None if text is None else text.lower()


def entry_keys(entries: Iterable[tuple[Any, ...]]) -> Counter[tuple[Any, ...]]:
    """DailyEntries keys of these entries, with how many each."""
    return Counter((day_of(at), stage, day_of(prev_at) if prev_at is not None else -1, earlier,
                    later, tied)
                   for _, _, stage, at, prev_at, earlier, later, tied, *_ in entries)


def gap_sums(entries: Iterable[tuple[Any, ...]],
             sums: dict[tuple[Any, ...], tuple[int, int]]) -> None:
    """Add to `sums` the DailyGaps keys of one lead's entries: from each first entry into a
    stage, back to every earlier first entry; (pairs, seconds) per key."""
    firsts = [(stage, at) for _, _, stage, at, prev_at, *_ in entries if prev_at is None]
    for index in range(1, len(firsts)):
        stage_order = ",".join(stage for stage, _ in firsts[:index + 1])
        stage, at = firsts[index]
        for earlier, since in firsts[:index]:
            key = (day_of(at), stage_order, earlier)
            n, seconds = sums.get(key, (0, 0))
            sums[key] = (n + 1, seconds + (at - since) // SECOND)


def refresh(connection: Connection, lead_ids: Iterable[int], *, write_visited: bool = True
            ) -> dict[int, str]:
    """Bring the stored summary of these leads in line with their history and attributes, and
    their Daily* counts with it. A lead with no StageEntry rows was not counted yet.

    Returns the new `visited` of the leads whose value changed. With `write_visited` False it
    is left to the caller, which is about to update those leads anyway (a second UPDATE of a
    lead row costs as much as the first: `visited` is in an index, so it is never HOT)."""
    ids = sorted(set(lead_ids))
    deltas = Deltas()
    visited: dict[int, str] = {}
    for start in range(0, len(ids), CHUNK):
        _refresh(connection, ids[start:start + CHUNK], deltas, visited, write_visited)
    deltas.write(connection)
    return visited


def _refresh(connection: Connection, ids: list[int], deltas: Deltas, visited: dict[int, str],
             write_visited: bool) -> None:
    dialect = connection.dialect.name
    bound = {"ids": ids}
    leads = connection.execute(
        select(*(LEAD_TABLE.c[c] for c in LEAD_COLUMNS))
        .where(in_list(LEAD_TABLE.c.id, "ids", dialect)), bound).all()
    changes: dict[int, list[Any]] = {}
    for row in connection.execute(
            select(CHANGES.c.lead_id, CHANGES.c.from_stage, CHANGES.c.to_stage, CHANGES.c.at,
                   CHANGES.c.id)
            .where(in_list(CHANGES.c.lead_id, "ids", dialect))
            .order_by(CHANGES.c.lead_id, CHANGES.c.at, CHANGES.c.id), bound):
        changes.setdefault(row.lead_id, []).append(row)
    stored: dict[int, list[tuple[Any, ...]]] = {}
    for row in connection.execute(
            select(*(ENTRY_TABLE.c[c] for c in ENTRY_COLUMNS))
            .where(in_list(ENTRY_TABLE.c.lead_id, "ids", dialect))
            .order_by(ENTRY_TABLE.c.lead_id, ENTRY_TABLE.c.seq), bound):
        stored.setdefault(row.lead_id, []).append(tuple(row))
    tallies = {row.lead_id: tuple(row) for row in connection.execute(
        select(*(TALLY_TABLE.c[c] for c in TALLY_COLUMNS))
        .where(in_list(TALLY_TABLE.c.lead_id, "ids", dialect)), bound)}
    rewritten, rows = [], SummaryRows()
    old_entries: list[tuple[Any, ...]] = []
    old_tallies: list[tuple[Any, ...]] = []
    for lead in leads:
        path = path_of(lead, changes.get(lead.id, []))
        entries, tally = tuple(stored.get(lead.id, ())), tallies.get(lead.id)
        if entries != path.entries or tally != path.tally:
            old_entries += entries
            old_tallies += [tally] if tally else []
            rewritten.append(lead.id)
            rows.add(path)
        if lead.visited != path.visited:
            visited[lead.id] = path.visited
            if write_visited:
                rows.visited.append({"lead": lead.id, "new_visited": path.visited})
    count(deltas, old_entries, old_tallies, -1)
    count(deltas, rows.entries, rows.tallies)
    for table in (ENTRY_TABLE, TALLY_TABLE):
        if rewritten:
            connection.execute(delete(table).where(in_list(table.c.lead_id, "ids", dialect)),
                               {"ids": rewritten})
    rows.write(connection)


class SummaryRows:
    """StageEntry and LeadTally rows to insert, and Lead.visited values to set."""

    def __init__(self) -> None:
        self.entries: list[tuple[Any, ...]] = []
        self.tallies: list[tuple[Any, ...]] = []
        self.visited: list[dict[str, Any]] = []

    def add(self, path: LeadPath) -> None:
        self.entries += path.entries
        self.tallies.append(path.tally)

    def write(self, connection: Connection) -> None:
        copy_rows(connection, ENTRY_TABLE, ENTRY_COLUMNS, self.entries)
        copy_rows(connection, TALLY_TABLE, TALLY_COLUMNS, self.tallies)
        if self.visited:
            connection.execute(_SET_VISITED, self.visited)
        self.entries, self.tallies, self.visited = [], [], []


_SET_VISITED = (update(LEAD_TABLE).where(LEAD_TABLE.c.id == bindparam("lead"))
                .values(visited=bindparam("new_visited")))
