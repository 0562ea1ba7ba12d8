"""Finding unhandled handoff requests: through the partial index, from a floor that moves only
once it is safe, and the schema of migration 0002_handoff."""

from __future__ import annotations

from datetime import timedelta

from alembic import command
from sqlalchemy import Engine, inspect, select, text

from nurture.engine.handoff_queue import CURSOR, SETTLE, pending_requests
from nurture.store.engine import alembic_config, migration_connection, upgrade
from tests.handoff.desk import MOVE, NOW, Desk
from tests.plans import query_plan


def _cursor(desk: Desk) -> tuple[int, int | None]:
    with desk.engine.connect() as connection:
        row = connection.execute(select(CURSOR.c.floor, CURSOR.c.candidate)).one_or_none()
    return (row.floor, row.candidate) if row else (0, None)


def _request_with_id(desk: Desk, event_id: int, lead_id: int) -> None:
    """A request whose id is lower than ones already handled: a transaction that took its id
    early and committed late, as concurrent writers on PostgreSQL can."""
    with desk.engine.begin() as connection:
        connection.execute(text("INSERT INTO event (id, lead_id, type, at, data, machine) "
                                "VALUES (:id, :lead, 'handoff_requested', :at, :data, false)"),
                           {"id": event_id, "lead": lead_id, "at": NOW,
                            "data": '{"rule": "sales-qualified", "to": "sql"}'})
        if desk.engine.dialect.name == "postgresql":  # later ids come after the highest
            connection.execute(text("SELECT setval(pg_get_serial_sequence('event', 'id'), "
                                    "(SELECT max(id) FROM event))"))


def test_the_floor_moves_only_after_it_has_settled(desk: Desk) -> None:
    leads = [desk.add_lead(f"p{n}@c{n}.test", company=f"C{n}") for n in range(4)]
    _request_with_id(desk, 100, leads[0])
    desk.handoffs(NOW)
    assert _cursor(desk) == (0, 100)

    _request_with_id(desk, 50, leads[1])  # committed late, below the candidate
    desk.handoffs(NOW + timedelta(minutes=1))
    assert _cursor(desk) == (0, 100)
    _request_with_id(desk, 60, leads[2])  # late again, seen by the run that moves the floor
    desk.handoffs(NOW + SETTLE)

    assert _cursor(desk) == (100, None)
    assert sorted(row.event_id for row in desk.handoff_rows()) == [50, 60, 100]
    later = desk.request(leads[3])
    desk.handoffs(NOW + SETTLE + timedelta(seconds=5))
    assert _cursor(desk) == (100, later)
    with desk.engine.connect() as connection:
        assert pending_requests(connection, 10) == []


def test_the_scan_reads_the_requests_through_their_partial_index(desk: Desk) -> None:
    lead = desk.add_lead("pat@acme.test")
    for n in range(30):
        desk.event(lead, "opened", NOW, n=n)
    desk.request(lead)
    with desk.engine.connect() as connection:
        [pending] = pending_requests(connection, 10)
        assert (pending.lead_id, pending.data) == (lead, MOVE)
        query = ("SELECT id FROM event WHERE event.type = 'handoff_requested' AND id > 0 "
                 "ORDER BY id LIMIT 10")
        assert "ix_event_handoff_requested" in query_plan(connection, query)


def test_the_migration_goes_down_and_up_again(engine: Engine) -> None:
    with migration_connection(engine) as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0002_handoff-1")
    tables = set(inspect(engine).get_table_names())
    assert not tables & {"handoff", "handoff_cursor", "notice"}
    assert "away" not in {column["name"] for column in inspect(engine).get_columns("rep")}
    upgrade(engine)
    assert {"handoff", "handoff_cursor", "notice"} <= set(inspect(engine).get_table_names())
