"""A touch that cannot go out for a temporary reason is never retried forever: the wait doubles
up to `retry_cap`, and after `max_attempts` the touch is failed with the reason and the
enrollment moves on (the doubling itself: test_delivery_failures.py). A transport that raises
instead of answering (a bug) counts as a temporary failure of that touch only."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from nurture.mail.transport import Delivery, Envelope
from tests.engine.world import NOW, World, numbered, sequence_toml

ANN, BOB = "ann@example.com", "bob@example.com"
BASE = timedelta(minutes=1)
CAP = timedelta(minutes=3)


def test_backoff_stops_growing_at_the_cap_and_the_last_attempt_fails_the_touch(
        world: World) -> None:
    world.load(sequence_toml("welcome", numbered(3)))
    world.dispatcher(max_attempts=5, retry_base=BASE, retry_cap=CAP)
    lead = world.add_lead(ANN)
    world.sink.answer(ANN, "421 4.7.0 Try again later, closing connection")
    world.enroll()
    now, waits = NOW, []
    while (report := world.tick(now)).outcomes["retried"]:
        [row] = world.outbox(lead)
        assert row.status == "deferred" and row.next_attempt_at is not None
        waits.append(row.next_attempt_at - now)
        now = row.next_attempt_at
    assert waits == [BASE, 2 * BASE, CAP, CAP]
    assert report.outcomes["failed"] == 1
    [row] = world.outbox(lead)
    assert (row.status, row.attempts) == ("failed", 5)
    assert row.reason == "421 4.7.0 Try again later, closing connection"
    enrollment = world.enrollment(lead)
    assert (enrollment.position, enrollment.next_touch_at) == (1, now + timedelta(days=1))
    assert world.sink.messages == []


class RaisesFor:
    """A real SMTP transport, except that sending to `address` raises (a transport bug)."""

    name = "smtp"

    def __init__(self, world: World, address: str) -> None:
        self.address, self.inner = address, world.transport()

    async def send(self, envelope: Envelope) -> Delivery:
        if envelope.recipients == (self.address,):
            raise RuntimeError("transport bug")
        return await self.inner.send(envelope)

    async def close(self) -> None:
        await self.inner.close()


def test_transport_raising_for_one_touch_retries_it_with_backoff_then_fails_it(
        world: World) -> None:
    world.load(sequence_toml("welcome", numbered(3)))
    dispatcher = world.dispatcher(max_attempts=2, retry_base=BASE)
    ann, bob = world.add_lead(ANN), world.add_lead(BOB)
    world.enroll()

    def tick(now: datetime) -> dict[str, int]:
        return dict(asyncio.run(world.run_tick(now, dispatcher, RaisesFor(world, ANN))).outcomes)

    assert tick(NOW) == {"sent": 1, "retried": 1}
    assert world.subjects(BOB) == ["Touch 1"]
    [row] = world.outbox(ann)
    assert (row.status, row.next_attempt_at) == ("deferred", NOW + BASE)
    assert row.reason == "internal error in the smtp transport: RuntimeError: transport bug"
    assert world.enrollment(ann).lease_token is None
    assert tick(NOW + BASE) == {"failed": 1}
    [row] = world.outbox(ann)
    assert (row.status, row.attempts) == ("failed", 2)
    assert world.enrollment(ann).position == 1
    assert world.received(ANN) == [] and [o.status for o in world.outbox(bob)] == ["sent"]
