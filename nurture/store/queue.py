"""The database is the queue: due enrollments are claimed in batches under a lease.

A claim stamps rows with a fresh lease token and expiry. Other workers skip leased rows until
the lease expires (a dead worker's rows come back by themselves); on PostgreSQL the claim's
sub-select takes `FOR UPDATE SKIP LOCKED`, so concurrent claims never wait on each other or
return the same row. Completion is fenced: an update names the lease token, and a worker whose
lease was taken over changes nothing (the caller checks the row count).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select, update

from nurture.store.models import Enrollment

TABLE = Enrollment.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Claimed:
    """One enrollment handed to this worker, with the token that proves the claim."""

    id: int
    lead_id: int
    sequence_id: str
    stage: str
    position: int
    next_touch_at: datetime
    stage_entered_at: datetime
    lease_token: str


def claim_due(connection: Connection, worker: str, now: datetime, limit: int,
              lease: timedelta) -> list[Claimed]:
    """Claim up to `limit` active enrollments due at `now`, oldest first."""
    if limit <= 0:
        return []
    token = uuid.uuid4().hex
    due = (
        select(TABLE.c.id)
        .where(TABLE.c.status == "active", TABLE.c.next_touch_at <= now,
               or_(TABLE.c.lease_expires_at.is_(None), TABLE.c.lease_expires_at < now))
        .order_by(TABLE.c.next_touch_at)
        .limit(limit)
    )
    if connection.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    statement = (
        update(TABLE)
        .where(TABLE.c.id.in_(due.scalar_subquery()))
        .values(claimed_by=worker, lease_token=token, lease_expires_at=now + lease)
        .returning(TABLE.c.id, TABLE.c.lead_id, TABLE.c.sequence_id, TABLE.c.stage,
                   TABLE.c.position, TABLE.c.next_touch_at, TABLE.c.stage_entered_at)
    )
    rows = connection.execute(statement).all()
    return sorted((Claimed(**row._mapping, lease_token=token) for row in rows),
                  key=lambda c: (c.next_touch_at, c.id))


def fenced(claim: Claimed) -> ColumnElement[bool]:
    """The WHERE clause that makes an update count only while `claim` still holds the lease."""
    return and_(TABLE.c.id == claim.id, TABLE.c.lease_token == claim.lease_token)


def complete(connection: Connection, claim: Claimed, now: datetime, **values: object) -> bool:
    """Record the outcome for a claimed enrollment and release it; False if the lease was lost."""
    statement = (
        update(TABLE).where(fenced(claim))
        .values(**values, lease_token=None, lease_expires_at=None, claimed_by=None, updated_at=now)
    )
    return connection.execute(statement).rowcount == 1


def hold(connection: Connection, claims: list[Claimed]) -> set[int]:
    """Ids of `claims` that still hold their lease, row-locked (on SQLite: the write lock) until
    the transaction ends, so no other worker takes them over while the caller acts on them."""
    if not claims:
        return set()
    statement = (
        update(TABLE).where(or_(*(fenced(claim) for claim in claims)))
        .values(claimed_by=TABLE.c.claimed_by)  # a no-op write: it takes the locks
        .returning(TABLE.c.id)
    )
    return set(connection.execute(statement).scalars())


def release(connection: Connection, claims: list[Claimed], now: datetime) -> int:
    """Give claimed rows back untouched (e.g. on shutdown); returns how many were still ours."""
    released = 0
    for claim in claims:
        released += complete(connection, claim, now)
    return released


def due_backlog(connection: Connection, now: datetime) -> int:
    """How many active enrollments are due now (counted through the due index)."""
    statement = select(func.count()).select_from(TABLE).where(
        TABLE.c.status == "active", TABLE.c.next_touch_at <= now)
    return int(connection.execute(statement).scalar_one())
