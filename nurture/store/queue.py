"""The database is the queue: due enrollments are claimed in batches under a lease.

A claim stamps rows with a fresh lease token and expiry. Other workers skip leased rows until
the lease expires (a dead worker's rows come back by themselves); on PostgreSQL the claim's
sub-select takes `FOR UPDATE SKIP LOCKED`, so concurrent claims never wait on each other or
return the same row. Completion is fenced: an update names the lease token, and a worker whose
lease was taken over changes nothing (the caller checks the row count).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    Update,
    bindparam,
    func,
    or_,
    select,
    update,
)

from nurture.store.models import Enrollment
from nurture.store.sql import in_list

TABLE = Enrollment.__table__  # type: ignore[attr-defined]
_COMPLETE = update(TABLE).where(TABLE.c.id == bindparam("claim_id"),
                                TABLE.c.lease_token == bindparam("claim_token"))
_RELEASED = {"lease_token": None, "lease_expires_at": None, "claimed_by": None}


@cache
def _hold(dialect: str) -> Update:
    return (
        update(TABLE)
        .where(in_list(TABLE.c.id, "claim_ids", dialect),
               TABLE.c.lease_token == bindparam("claim_token"))
        .values(claimed_by=TABLE.c.claimed_by)  # a no-op write: it takes the locks
        .returning(TABLE.c.id)
    )


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


def complete(connection: Connection, claim: Claimed, now: datetime, **values: object) -> bool:
    """Record the outcome for a claimed enrollment and release it; False if the lease was lost."""
    return complete_many(connection, [(claim, values)], now) == 1


def complete_many(connection: Connection,
                  outcomes: Iterable[tuple[Claimed, Mapping[str, object]]], now: datetime) -> int:
    """`complete` for many claims: one fenced UPDATE run for all the rows (executemany) per
    set of columns written. Returns how many rows were still held, and so changed."""
    rows = [{**values, **_RELEASED, "updated_at": now,
             "claim_id": claim.id, "claim_token": claim.lease_token}
            for claim, values in outcomes]
    return sum(connection.execute(_COMPLETE, group).rowcount for group in _by_columns(rows))


def _by_columns(rows: Iterable[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows grouped by the columns they name: one executemany takes rows of the same keys."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[tuple(sorted(row))].append(row)
    return list(groups.values())


def hold(connection: Connection, claims: Iterable[Claimed]) -> set[int]:
    """Ids of `claims` that still hold their lease, row-locked (on SQLite: the write lock) until
    the transaction ends, so no other worker takes them over while the caller acts on them."""
    by_token: dict[str, list[int]] = defaultdict(list)
    for claim in claims:
        by_token[claim.lease_token].append(claim.id)
    held: set[int] = set()
    for token, ids in by_token.items():  # one token per claim_due call: usually one statement
        parameters = {"claim_ids": ids, "claim_token": token}
        held.update(connection.execute(_hold(connection.dialect.name), parameters).scalars())
    return held


def release(connection: Connection, claims: Iterable[Claimed], now: datetime) -> int:
    """Give claimed rows back untouched (e.g. after a failed tick); returns how many were still
    ours — rows already completed, or taken over by another worker, are left alone."""
    return complete_many(connection, ((claim, {}) for claim in claims), now)


def due_backlog(connection: Connection, now: datetime) -> int:
    """How many active enrollments are due now (counted through the due index)."""
    statement = select(func.count()).select_from(TABLE).where(
        TABLE.c.status == "active", TABLE.c.next_touch_at <= now)
    return int(connection.execute(statement).scalar_one())
