"""Sets of stage ids stored as text: sorted, each id between commas (",lost,won,"), the empty
set as "". Equal sets are equal text, so a set can be part of a grouping key, and SQL can ask
whether a set holds a stage with a LIKE that no other id can match."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement


def stage_set(stages: Iterable[str]) -> str:
    found = sorted(set(stages))
    return f",{','.join(found)}," if found else ""


def stages_in(text: str) -> frozenset[str]:
    return frozenset(filter(None, text.split(",")))


def holds(column: ColumnElement[str], stage: str) -> ColumnElement[bool]:
    """SQL: the set in `column` holds `stage`."""
    return column.contains(f",{stage},", autoescape=True)
