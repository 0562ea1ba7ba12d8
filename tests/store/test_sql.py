"""insert_ignoring_duplicates tells an insert from a duplicate, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from nurture.store.engine import writing
from nurture.store.models import Suppression
from nurture.store.sql import insert_ignoring_duplicates

SUPPRESSIONS = Suppression.__table__  # type: ignore[attr-defined]
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_the_first_insert_is_true_and_the_duplicate_false_and_ignored(engine: Engine) -> None:
    row = {"value": "ann@example.com", "kind": "email", "reason": "test", "created_at": NOW}
    with writing(engine) as connection:
        assert insert_ignoring_duplicates(connection, SUPPRESSIONS, row) is True
        assert insert_ignoring_duplicates(connection, SUPPRESSIONS,
                                          {**row, "value": "ANN@example.com"}) is False
        count = connection.execute(select(func.count()).select_from(SUPPRESSIONS)).scalar_one()
    assert count == 1
