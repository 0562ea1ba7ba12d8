"""What a report looks at: a date range and filters by lead source, industry, sequence and owner.

Dates select two things. Flow metrics (stage entries, wins, losses, emails sent) count what
happened in the range. Snapshot metrics (leads per stage, the open pipeline) describe leads
created in the range as they are at `now`; with no range, every lead.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, exists, func, or_, select

from nurture.reports.sql import ENROLLMENTS, LEADS, REPS


@dataclass(frozen=True)
class Filters:
    """`start` is inclusive and `end` exclusive; None means unbounded (`end` is then now)."""

    start: datetime | None = None
    end: datetime | None = None
    source: str | None = None
    industry: str | None = None
    sequence: str | None = None
    owner: int | None = None  # a rep's id

    def window(self, now: datetime) -> Window:
        return Window(self.start, min(self.end, now) if self.end else now)

    @property
    def selects_leads(self) -> bool:
        """Whether any filter narrows the leads (so a query must look at the lead table)."""
        return any(v is not None for v in (self.source, self.industry, self.sequence, self.owner))

    def lead_conditions(self) -> list[ColumnElement[bool]]:
        """Conditions on `LEADS` for the source, industry (both ignoring case), owner and
        sequence (the lead was enrolled in it at some point) filters."""
        conditions: list[ColumnElement[bool]] = []
        if self.source is not None:
            conditions.append(func.lower(LEADS.c.source) == self.source.lower())
        if self.industry is not None:
            conditions.append(func.lower(LEADS.c.industry) == self.industry.lower())
        if self.owner is not None:
            conditions.append(LEADS.c.owner_id == self.owner)
        if self.sequence is not None:
            conditions.append(exists().where(ENROLLMENTS.c.lead_id == LEADS.c.id,
                                             ENROLLMENTS.c.sequence_id == self.sequence))
        return conditions

    def selects(self, lead_id: ColumnElement[int], *,
                sequence: bool = True) -> ColumnElement[bool]:
        """SQL: `lead_id` is one of the leads the filters select (the sequence filter left out
        when not `sequence`). A row's lead tested against the set of leads found through the
        lead indexes costs far less than joining each row to its lead."""
        chosen = self if sequence else replace(self, sequence=None)
        return lead_id.in_(select(LEADS.c.id).where(*chosen.lead_conditions()))


@dataclass(frozen=True)
class Window:
    """The period a report covers: [start, end), start None for "since the beginning"."""

    start: datetime | None
    end: datetime

    def holds(self, column: ColumnElement) -> ColumnElement[bool]:
        """`column` falls in the window."""
        if self.start is None:
            return column < self.end
        return (column >= self.start) & (column < self.end)


class UnknownOwner(LookupError):
    """No rep has the email or id given as an owner filter."""


def owner_id(connection: Connection, owner: str) -> int:
    """The id of the rep named by `owner`: their email, or their id as digits."""
    condition = or_(REPS.c.email == owner, REPS.c.id == int(owner)) if owner.isdigit() \
        else REPS.c.email == owner
    found = connection.execute(select(REPS.c.id).where(condition)).scalar()
    if found is None:
        raise UnknownOwner(f"no rep with email or id {owner!r}; the reps are listed in the "
                           "config file")
    return int(found)
