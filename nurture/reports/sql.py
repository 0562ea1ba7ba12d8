"""The tables the reports read, and the date computations that differ by dialect."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, Integer, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from nurture.store.models import Enrollment, Lead, Outbox, Rep, StageEntry
from nurture.store.types import UTCDateTime

LEADS = Lead.__table__  # type: ignore[attr-defined]
ENTRIES = StageEntry.__table__  # type: ignore[attr-defined]
ENROLLMENTS = Enrollment.__table__  # type: ignore[attr-defined]
OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
REPS = Rep.__table__  # type: ignore[attr-defined]
FIRST_MONDAY = datetime(1970, 1, 5, tzinfo=UTC)  # weeks are counted from here, Monday 00:00 UTC


def moment(value: datetime) -> ColumnElement[datetime]:
    """A datetime bound as the columns store it, usable inside SQL expressions."""
    return literal(value, UTCDateTime())


class days_between(FunctionElement[float]):  # noqa: N801 - used like a SQL function
    """Days (fractional) from the first timestamp to the second, as a float on both databases
    (and so their SUM and AVG: PostgreSQL's EXTRACT answers NUMERIC, whose AVG the driver
    returns as a Decimal that JSON cannot take)."""

    type = Float()
    inherit_cache = True
    name = "days_between"


@compiles(days_between, "sqlite")
def _days_sqlite(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(julianday({end}) - julianday({start}))"


@compiles(days_between, "postgresql")
def _days_postgresql(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(CAST(EXTRACT(EPOCH FROM ({end} - {start})) AS DOUBLE PRECISION) / 86400)"


class day_number(FunctionElement[int]):  # noqa: N801 - used like a SQL function
    """The UTC day of a timestamp as whole days since 1970-01-01 (store/tallies.py day_of)."""

    type = Integer()
    inherit_cache = True
    name = "day_number"


@compiles(day_number, "sqlite")
def _day_sqlite(element: day_number, compiler: SQLCompiler, **kw: Any) -> str:
    (at,) = (compiler.process(arg, **kw) for arg in element.clauses)
    # The date part of the stored text: exact, where julianday() of the whole is a float.
    return f"CAST(julianday(substr({at}, 1, 10)) - 2440587.5 AS INTEGER)"


@compiles(day_number, "postgresql")
def _day_postgresql(element: day_number, compiler: SQLCompiler, **kw: Any) -> str:
    (at,) = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(CAST(({at}) AT TIME ZONE 'UTC' AS DATE) - DATE '1970-01-01')"


class week_number(FunctionElement[int]):  # noqa: N801 - used like a SQL function
    """Whole weeks from FIRST_MONDAY to a timestamp: equal for every moment of one
    Monday-to-Sunday UTC week."""

    type = Integer()
    inherit_cache = True
    name = "week_number"


@compiles(week_number, "sqlite")
def _week_sqlite(element: week_number, compiler: SQLCompiler, **kw: Any) -> str:
    (at,) = (compiler.process(arg, **kw) for arg in element.clauses)
    # Timestamps after 1970 only, so truncating is flooring.
    return f"CAST((julianday({at}) - julianday('1970-01-05')) / 7 AS INTEGER)"


@compiles(week_number, "postgresql")
def _week_postgresql(element: week_number, compiler: SQLCompiler, **kw: Any) -> str:
    (at,) = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"FLOOR(EXTRACT(EPOCH FROM ({at} - TIMESTAMPTZ '1970-01-05 00:00:00+00')) / 604800)"

