"""The period and filters of a report request — `from`, `to`, `source`, `industry`, `sequence`,
`owner`, as `nurture report` takes them — read from the query string, checked, and turned into
the report layer's `Filters`. Shared by the reports API and the dashboard, which show the same
numbers for the same query. A bad value is a `BadFilters` naming each field at fault.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import Query
from sqlalchemy import Connection

from nurture.files.loader import Project
from nurture.reports.filters import Filters, UnknownOwner, owner_id

MAX_TEXT = 200
MAX_ID = 2**31 - 1  # the database's integer: a larger id names no rep
FIRST_YEAR, LAST_YEAR = 1970, 9998
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class BadFilters(ValueError):
    """Query values that cannot be used, as (field, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in problems))
        self.problems = problems


@dataclass(frozen=True)
class FilterQuery:
    """The filters as given, stripped; empty form fields count as not given."""

    start: str | None = None  # "from"
    end: str | None = None  # "to"
    source: str | None = None
    industry: str | None = None
    sequence: str | None = None
    owner: str | None = None

    def params(self) -> dict[str, str]:
        """The query parameters that give this query back (for links between pages)."""
        names = {"start": "from", "end": "to"}
        return {names.get(key, key): value for key, value in asdict(self).items() if value}


def filter_query(
    start: Annotated[str | None, Query(
        alias="from", description="first day of the period, YYYY-MM-DD, UTC (default: the "
                                  "beginning)")] = None,
    end: Annotated[str | None, Query(
        alias="to", description="last day of the period, YYYY-MM-DD, UTC, included "
                                "(default: today)")] = None,
    source: Annotated[str | None, Query(description="only leads from this source")] = None,
    industry: Annotated[str | None, Query(description="only leads in this industry")] = None,
    sequence: Annotated[str | None, Query(
        description="only leads enrolled in this sequence (its id)")] = None,
    owner: Annotated[str | None, Query(
        description="only leads owned by this rep (email or id)")] = None,
) -> FilterQuery:
    """FastAPI dependency: the filters of the query string, not yet checked."""
    def clean(value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    return FilterQuery(clean(start), clean(end), clean(source), clean(industry),
                       clean(sequence), clean(owner))


def report_filters(connection: Connection, project: Project, query: FilterQuery) -> Filters:
    """The report layer's filters for `query`; BadFilters naming every field at fault."""
    problems: list[tuple[str, str]] = []
    start = _day(query.start, "from", problems)
    end = _day(query.end, "to", problems)
    if start and end and end < start:
        problems.append(("to", f"{query.end} is before from ({query.start})"))
    for name, value in (("source", query.source), ("industry", query.industry),
                        ("sequence", query.sequence), ("owner", query.owner)):
        if value is not None and (len(value) > MAX_TEXT or _CONTROL.search(value)):
            problems.append((name, f"must be at most {MAX_TEXT} characters, with no control "
                                   "characters"))
    checked = {name for name, _ in problems}
    if query.sequence and "sequence" not in checked and project.sequence(query.sequence) is None:
        known = ", ".join(sorted(s.id for s in project.sequences)) or "none"
        problems.append(("sequence", f"no sequence {query.sequence!r} (sequences: {known})"))
    owner = None
    if query.owner and "owner" not in checked:
        owner = _owner(connection, query.owner.lower(), problems)
    if problems:
        raise BadFilters(problems)
    return Filters(
        datetime(start.year, start.month, start.day, tzinfo=UTC) if start else None,
        datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1) if end else None,
        query.source, query.industry, query.sequence, owner)


def _day(value: str | None, name: str, problems: list[tuple[str, str]]) -> date | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value) if _DATE.match(value) else None
    except ValueError:
        day = None
    if day is None or not FIRST_YEAR <= day.year <= LAST_YEAR:
        problems.append((name, f"{value[:40]!r} is not a day between {FIRST_YEAR} and "
                               f"{LAST_YEAR} written YYYY-MM-DD"))
        return None
    return day


def _owner(connection: Connection, owner: str, problems: list[tuple[str, str]]) -> int | None:
    try:
        if owner.isdigit() and (not owner.isascii() or int(owner) > MAX_ID):
            raise UnknownOwner(f"no rep with email or id {owner!r}")
        return owner_id(connection, owner)
    except UnknownOwner as exc:
        problems.append(("owner", str(exc)))
        return None
