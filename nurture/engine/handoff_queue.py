"""Finding `handoff_requested` events not yet handled, at the cost of what is pending.

Requests are read through a partial index holding only them (ix_event_handoff_requested),
from a floor below which every request is handled, so a scan reads the pending requests and
the few handled since the floor last moved. The floor moves in two steps: after a scan that
left nothing pending, the highest request id becomes the candidate; a later scan that also
leaves nothing pending, at least SETTLE after, makes the candidate the floor. A request with a
lower id than the candidate but not yet visible then (its transaction still open) is missed
only if that transaction stays open longer than SETTLE after writing it; on SQLite, where ids
are handed out in commit order, never.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, exists, func, select, text, update

from nurture.store.engine import writing
from nurture.store.models import Event, Handoff, HandoffCursor
from nurture.store.sql import insert_ignoring_duplicates

EVENTS = Event.__table__  # type: ignore[attr-defined]
HANDOFFS = Handoff.__table__  # type: ignore[attr-defined]
CURSOR = HandoffCursor.__table__  # type: ignore[attr-defined]
REQUESTED = "handoff_requested"
# Written out, not bound: a partial index serves only a query that states its condition.
IS_REQUEST = text(f"event.type = '{REQUESTED}'")
SETTLE = timedelta(minutes=5)


@dataclass(frozen=True)
class Request:
    """A `handoff_requested` event: the lead, and the rule's move."""

    event_id: int
    lead_id: int
    at: datetime
    data: dict[str, Any]


def pending_requests(connection: Connection, limit: int) -> list[Request]:
    """Up to `limit` unhandled requests, oldest first."""
    handled = exists().where(HANDOFFS.c.event_id == EVENTS.c.id)
    floor = select(CURSOR.c.floor).where(CURSOR.c.id == 1).scalar_subquery()
    query = (select(EVENTS.c.id, EVENTS.c.lead_id, EVENTS.c.at, EVENTS.c.data)
             .where(IS_REQUEST, EVENTS.c.id > func.coalesce(floor, 0), ~handled)
             .order_by(EVENTS.c.id).limit(limit))
    return [Request(*row) for row in connection.execute(query)]


def settle_floor(engine: Engine, now: datetime) -> None:
    """Call after a scan that left nothing pending: move the floor as the module says.
    Writes only when the cursor changes."""
    with engine.connect() as connection:
        if _next_cursor(connection, now) is None:
            return
    with writing(engine) as connection:
        insert_ignoring_duplicates(connection, CURSOR, {"id": 1, "floor": 0})
        moved = _next_cursor(connection, now, lock=True)
        if moved is not None:
            connection.execute(update(CURSOR).where(CURSOR.c.id == 1).values(**moved))


def _next_cursor(connection: Connection, now: datetime, *,
                 lock: bool = False) -> dict[str, Any] | None:
    """The cursor's new values, or None when it stays as it is."""
    query = select(CURSOR.c.floor, CURSOR.c.candidate, CURSOR.c.candidate_since)
    query = query.where(CURSOR.c.id == 1)
    row = connection.execute(query.with_for_update() if lock else query).one_or_none()
    current = tuple(row) if row is not None else (0, None, None)
    floor, candidate, since = current
    if candidate is not None and since is not None and now - since >= SETTLE:
        floor, candidate, since = max(floor, candidate), None, None
    if candidate is None:
        highest = connection.execute(select(func.max(EVENTS.c.id)).where(IS_REQUEST)).scalar()
        if highest is not None and highest > floor:
            candidate, since = highest, now
    if (floor, candidate, since) == current:
        return None
    return {"floor": floor, "candidate": candidate, "candidate_since": since}
