"""Bulk writes below SQLAlchemy (nurture/engine/bulk.py), on SQLite and PostgreSQL: what they
write reads back through the models exactly as if SQLAlchemy had written it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import Engine, select
from sqlmodel import Session

from nurture.engine.bulk import insert_returning_ids, insert_rows, update_rows
from nurture.engine.events import EVENTS
from nurture.engine.scoring import SCORE_CHANGE_COLUMNS, SCORE_CHANGES
from nurture.engine.stages import LEADS
from nurture.store.engine import writing
from nurture.store.models import Event, Lead, ScoreChange

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PARIS = timezone(timedelta(hours=1))


def _lead(engine: Engine, email: str) -> int:
    with Session(engine) as session:
        lead = Lead(email=email, stage="prospecting", stage_entered_at=T0, created_at=T0,
                    updated_at=T0)
        session.add(lead)
        session.commit()
        assert lead.id is not None
        return lead.id


def test_inserted_rows_come_back_in_order_with_their_ids(engine: Engine) -> None:
    lead_id = _lead(engine, "ann@example.com")
    rows = [(lead_id, f"kind{n}", T0 + timedelta(seconds=n), {"n": n, "é": [n, None]}, None,
             n % 2 == 0, "tracking" if n % 3 else None, None) for n in range(7)]
    rows.append((lead_id, "late", datetime(2026, 3, 2, 11, 30, tzinfo=PARIS), {}, None, False,
                 None, "client-1"))
    columns = ("lead_id", "type", "at", "data", "outbox_id", "machine", "source", "client_id")
    with writing(engine) as connection:
        ids = insert_returning_ids(connection, EVENTS, columns, rows)
        assert insert_returning_ids(connection, EVENTS, columns, []) == []
    assert len(set(ids)) == len(rows)
    with Session(engine) as session:
        stored = {e.id: e for e in session.execute(select(Event)).scalars()}
    for event_id, row in zip(ids, rows, strict=True):
        event = stored[event_id]
        assert (event.lead_id, event.type, event.at, event.data, event.outbox_id, event.machine,
                event.source, event.client_id) == row
    assert stored[ids[-1]].at == datetime(2026, 3, 2, 10, 30, tzinfo=UTC)


def test_updated_columns_read_back_as_written(engine: Engine) -> None:
    first, second = _lead(engine, "a@example.com"), _lead(engine, "b@example.com")
    later = T0 + timedelta(days=1, microseconds=5)
    with writing(engine) as connection:
        update_rows(connection, LEADS, ("score", "fit", "scored_at", "needs_enrollment",
                                        "last_engaged_at"),
                    [(first, 12, "A", later, False, None),
                     (second, 3.5, "C", later.astimezone(PARIS), True, T0)])
    with Session(engine) as session:
        a, b = session.get(Lead, first), session.get(Lead, second)
        assert a is not None and b is not None
        assert (a.score, a.fit, a.scored_at, a.needs_enrollment, a.last_engaged_at) == (
            12.0, "A", later, False, None)
        assert (b.score, b.fit, b.scored_at, b.needs_enrollment, b.last_engaged_at) == (
            3.5, "C", later, True, T0)
        assert (a.email, a.stage_entered_at) == ("a@example.com", T0)  # the rest untouched


def test_inserted_score_changes_keep_the_order_they_were_given_in(engine: Engine) -> None:
    lead_id = _lead(engine, "ann@example.com")
    rows = [(lead_id, None, T0, 1, 1.0, "opened: +1"), (lead_id, None, T0, -0.25, 0.75, "decay"),
            (lead_id, None, T0, 15.5, 16.25, "replied: +15.5")]
    with writing(engine) as connection:
        insert_rows(connection, SCORE_CHANGES, SCORE_CHANGE_COLUMNS, rows)
    with Session(engine) as session:
        stored = session.execute(select(ScoreChange).order_by(ScoreChange.id)).scalars().all()
    assert [(c.lead_id, c.event_id, c.at, c.delta, c.score_after, c.reason)
            for c in stored] == rows
