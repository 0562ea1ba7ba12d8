"""The rows one transaction of a tick writes, gathered and then written in bulk: one statement
for many rows (an executemany, or one `WHERE id IN` for rows changed alike), never one
statement built per row.

`flush` writes them in an order that keeps the fences: outbox rows first (events point at
them), then events (and what the reports count of the emails sent and their outcomes) and
tasks, then the enrollments — only those this worker still holds, locked by `hold` so the
fenced updates that follow match exactly them — and last what a hard bounce implies for the
lead and its other enrollments.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, insert, update

from nurture.engine.batch import EVENTS, LEADS, OUTBOX
from nurture.engine.enroll import stop_enrollments
from nurture.store.email_outcomes import COUNTED as OUTCOMES
from nurture.store.email_outcomes import COUNTING, HANDED, note_events, note_handed
from nurture.store.models import Task
from nurture.store.queue import Claimed, complete_many, hold
from nurture.store.sql import dialect_insert, in_list

TASKS = Task.__table__  # type: ignore[attr-defined]
Row = dict[str, Any]
_INSERT_OUTBOX = insert(OUTBOX).returning(OUTBOX.c.id, OUTBOX.c.enrollment_id,
                                          OUTBOX.c.touch_index)
_INSERT_EVENTS = insert(EVENTS)


@dataclass
class Written:
    """What a flush tells its caller: the ids of the new outbox rows, by (enrollment, touch),
    and the claims whose lease was lost, so nothing was recorded for their enrollment."""

    outbox_ids: dict[tuple[int, int], int]
    lost: list[Claimed]


@dataclass
class Writes:
    now: datetime
    new_outbox: list[Row] = field(default_factory=list)
    outbox_changes: list[tuple[int, Row]] = field(default_factory=list)
    events: list[Row] = field(default_factory=list)
    tasks: list[Row] = field(default_factory=list)
    completions: list[tuple[Claimed, Mapping[str, Any]]] = field(default_factory=list)
    bounced_leads: list[int] = field(default_factory=list)

    def add_outbox(self, claim: Claimed, message_id: str, **values: Any) -> None:
        """A new outbox row for the claim's current touch."""
        self.new_outbox.append({
            "enrollment_id": claim.id, "touch_index": claim.position, "lead_id": claim.lead_id,
            "message_id": message_id, "attempts": 0, "created_at": self.now, "reason": None,
            "next_attempt_at": None, **values,
        })

    def change_outbox(self, outbox_id: int | None, **values: Any) -> None:
        assert outbox_id is not None, "an outbox row is changed only once it was written"
        self.outbox_changes.append((outbox_id, values))

    def add_event(self, lead_id: int, kind: str, outbox_id: int | None,
                  data: dict[str, Any]) -> None:
        self.events.append({"lead_id": lead_id, "type": kind, "at": self.now,
                            "outbox_id": outbox_id, "machine": False, "data": data})

    def add_task(self, **values: Any) -> None:
        self.tasks.append(values)

    def complete(self, claim: Claimed, **values: Any) -> None:
        """Record the enrollment's outcome and release it, if this worker still holds it."""
        self.completions.append((claim, values))

    def bounce(self, lead_id: int) -> None:
        """The lead's address is bad: mark it bounced and stop all its enrollments."""
        self.bounced_leads.append(lead_id)

    def flush(self, connection: Connection) -> Written:
        new_ids: dict[tuple[int, int], int] = {}
        if self.new_outbox:
            rows = connection.execute(_INSERT_OUTBOX, self.new_outbox)
            new_ids = {(row.enrollment_id, row.touch_index): row.id for row in rows}
        dialect = connection.dialect.name
        handed: list[Any] = []  # emails sent or refused now, which the reports count
        for values, outbox_ids in _by_values(self.outbox_changes).items():
            statement = update(OUTBOX).where(in_list(OUTBOX.c.id, "ids", dialect))
            statement = statement.values(dict(values))
            if dict(values).get("status") in HANDED:
                handed += connection.execute(statement.returning(*COUNTING), {"ids": outbox_ids})
            else:
                connection.execute(statement, {"ids": outbox_ids})
        if self.events:
            connection.execute(_INSERT_EVENTS, self.events)
            note_events(connection, [SimpleNamespace(**event) for event in self.events
                                     if event["type"] in OUTCOMES])
        note_handed(connection, handed)
        if self.tasks:
            connection.execute(dialect_insert(connection, TASKS).on_conflict_do_nothing(),
                               self.tasks)
        held = hold(connection, [claim for claim, _ in self.completions])
        complete_many(connection, [(claim, values) for claim, values in self.completions
                                   if claim.id in held], self.now)
        if self.bounced_leads:
            connection.execute(update(LEADS).where(in_list(LEADS.c.id, "ids", dialect))
                               .values(status="bounced", updated_at=self.now),
                               {"ids": self.bounced_leads})
            for lead_id in self.bounced_leads:
                stop_enrollments(connection, lead_id, "bounced", self.now)
        return Written(new_ids, [claim for claim, _ in self.completions if claim.id not in held])


def _by_values(changes: list[tuple[int, Row]]) -> dict[tuple[tuple[str, Any], ...], list[int]]:
    """Outbox ids by the values they get: rows changed alike (a chunk's sends: sent, now)
    take one `UPDATE … WHERE id IN`, not one statement run per row."""
    ids: dict[tuple[tuple[str, Any], ...], list[int]] = defaultdict(list)
    for outbox_id, values in changes:
        ids[tuple(sorted(values.items()))].append(outbox_id)
    return ids
