"""The suppression list: addresses and whole domains that must never be mailed.

The list is read at send time (the dispatcher checks every lead's address and domain right
before SMTP), so an entry covers leads imported after it too. Adding or removing one changes
no lead row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, Table, delete, select

from nurture.files.leads_csv import parse_email
from nurture.store.models import Suppression
from nurture.store.sql import dialect_insert

SUPPRESSIONS: Table = Suppression.__table__  # type: ignore[attr-defined]
_CHUNK = 500


@dataclass(frozen=True)
class Suppressed:
    """One entry: a lowercased address (kind "email") or domain (kind "domain")."""

    value: str
    kind: str
    reason: str = ""
    created_at: datetime | None = None


def parse_suppression(text: str) -> Suppressed:
    """"ann@example.com" is an address; "example.com", "@example.com" and "*@example.com" are
    the whole domain. ValueError, naming the value, if it is neither."""
    value = text.strip()
    domain = value.removeprefix("*").removeprefix("@")
    if "@" in domain:
        return Suppressed(parse_email(value), "email")
    if not domain:
        raise ValueError(f"{text!r} is neither an email address nor a domain")
    try:
        checked = parse_email(f"postmaster@{domain}")
    except ValueError:
        raise ValueError(f"{text!r} is not a valid domain (e.g. example.com)") from None
    return Suppressed(checked.rpartition("@")[2], "domain")


def add_suppressions(connection: Connection, entries: Iterable[Suppressed], reason: str,
                     now: datetime) -> int:
    """Add entries not already listed (an entry's own reason wins over `reason`); returns how
    many were new. Entries already listed keep their reason and date."""
    unique: dict[str, Suppressed] = {}
    for entry in entries:
        unique.setdefault(entry.value, entry)
    rows = [{"value": e.value, "kind": e.kind, "reason": e.reason or reason, "created_at": now}
            for e in unique.values()]
    added = 0
    for start in range(0, len(rows), _CHUNK):
        statement = (dialect_insert(connection, SUPPRESSIONS).values(rows[start:start + _CHUNK])
                     .on_conflict_do_nothing().returning(SUPPRESSIONS.c.id))
        added += len(connection.execute(statement).all())
    return added


def remove_suppressions(connection: Connection, values: Iterable[str]) -> int:
    """Remove these addresses or domains (as `parse_suppression` reads them); returns how many
    were listed."""
    wanted = sorted({parse_suppression(value).value for value in values})
    removed = 0
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start:start + _CHUNK]
        removed += connection.execute(
            delete(SUPPRESSIONS).where(SUPPRESSIONS.c.value.in_(chunk))).rowcount
    return removed


def list_suppressions(connection: Connection, kind: str | None = None,
                      limit: int | None = None, offset: int = 0) -> list[Suppressed]:
    """One page of entries in alphabetical order, optionally of one kind."""
    query = _entries().limit(limit).offset(offset)
    if kind is not None:
        query = query.where(SUPPRESSIONS.c.kind == kind)
    return [Suppressed(*row) for row in connection.execute(query)]


def export_suppressions(connection: Connection) -> Iterator[Suppressed]:
    """Every entry in alphabetical order, streamed."""
    rows = connection.execute(_entries().execution_options(yield_per=1000))
    for row in rows:
        yield Suppressed(*row)


def _entries() -> Select[Any]:
    table = SUPPRESSIONS.c
    return select(table.value, table.kind, table.reason, table.created_at).order_by(table.value)
