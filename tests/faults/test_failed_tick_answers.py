"""The database fails in the middle of a tick, after the mail server accepted a message: the
worker keeps the server's answers it could not write and writes them first thing at its next
tick, so a database that comes back in time causes no resend. (A worker that dies meanwhile
leaves the touch `sending`, settled by `on_interrupted` when its lease expires:
tests/engine/test_failed_tick.py.)"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.exc import DBAPIError

from nurture.engine.dispatch import Dispatcher
from tests.engine.conftest import world  # noqa: F401 (the fixture)
from tests.engine.test_failed_tick import (
    LEADS,
    LEASE,
    NEXT_TICK,
    LosesATableInsideASend,
    rename_table,
    three_leads,
)
from tests.engine.world import NOW, World


def test_answers_the_database_could_not_take_are_written_by_the_next_tick(
        world: World) -> None:  # noqa: F811 (the fixture imported above)
    leads = three_leads(world)
    dispatcher = world.build(Dispatcher, chunk_size=1, lease=LEASE)
    with pytest.raises(DBAPIError):
        asyncio.run(world.run_tick(NOW, dispatcher, LosesATableInsideASend(world, LEADS[1])))
    assert world.outbox(leads[1])[0].status == "sending"
    rename_table(world.engine, "event_gone", "event")  # the database is back
    report = world.tick(NEXT_TICK, dispatcher)
    assert (report.claimed, report.outcomes["sent"]) == (1, 1)  # the claim handed back
    [row] = world.outbox(leads[1])
    assert (row.status, row.sent_at, row.attempts) == ("sent", NOW, 1)
    enrollment = world.enrollment(leads[1])
    assert (enrollment.position, enrollment.lease_token) == (1, None)
    assert len(world.events(leads[1], "sent")) == 1
    assert world.tick(NOW + LEASE + timedelta(seconds=1), dispatcher).claimed == 0
    assert [len(world.received(email)) for email in LEADS] == [1, 1, 1]
