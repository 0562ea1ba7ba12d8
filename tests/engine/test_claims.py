"""Claims and leases: a claimed enrollment belongs to one worker until its lease expires; a
worker whose lease was taken over records nothing, so the other worker's result stands; on
PostgreSQL concurrent claims never return the same row."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import Engine, text

from nurture.engine.dispatch import Dispatcher
from nurture.engine.outcomes import Pending, Recorder
from nurture.mail.transport import Delivery, Envelope
from nurture.store.queue import claim_due, complete
from tests.engine.world import NOW, World, numbered, sequence_toml

ANN = "ann@example.com"
LEASE = timedelta(minutes=5)
TAKEN_OVER = NOW + LEASE + timedelta(seconds=1)


def enrolled(world: World, count: int = 1) -> list[int]:
    world.load(sequence_toml("welcome", numbered(3)))
    leads = [world.add_lead(f"lead{n}@example.com") for n in range(count)]
    world.enroll()
    return leads


def test_claimed_enrollment_is_not_claimed_again_until_its_lease_expires(world: World) -> None:
    enrolled(world)
    with world.engine.begin() as connection:
        [first] = claim_due(connection, "a", NOW, 10, LEASE)
    with world.engine.begin() as connection:
        assert claim_due(connection, "b", NOW + LEASE - timedelta(seconds=1), 10, LEASE) == []
    with world.engine.begin() as connection:
        [again] = claim_due(connection, "b", TAKEN_OVER, 10, LEASE)
    assert again.id == first.id and again.lease_token != first.lease_token


def test_worker_whose_lease_was_taken_over_cannot_complete_and_the_other_result_stands(
        world: World) -> None:
    [lead] = enrolled(world)
    with world.engine.begin() as connection:
        [mine] = claim_due(connection, "a", NOW, 10, LEASE)
    with world.engine.begin() as connection:
        [theirs] = claim_due(connection, "b", TAKEN_OVER, 10, LEASE)
    later = TAKEN_OVER + timedelta(seconds=1)
    with world.engine.begin() as connection:
        assert complete(connection, theirs, later, position=1, next_touch_at=later)
    with world.engine.begin() as connection:
        assert not complete(connection, mine, later, position=2, status="stopped")
    enrollment = world.enrollment(lead)
    assert (enrollment.position, enrollment.status, enrollment.next_touch_at) == (
        1, "active", later)
    assert (enrollment.lease_token, enrollment.claimed_by) == (None, None)


class OvertakenBeforeSending(Dispatcher):
    """Its lease expires between the written plan and the chunk; another worker takes over."""

    other: Dispatcher
    world: World

    async def _send_chunk(self, chunk: list[Pending], recorder: Recorder) -> None:
        await self.world.run_tick(TAKEN_OVER, self.other)
        await super()._send_chunk(chunk, recorder)


class OvertakenDuringSmtp:
    """A real transport inside whose SMTP transaction the lease expires and another worker
    takes over (against a mail server that accepts again)."""

    name = "smtp"

    def __init__(self, world: World, other: Dispatcher) -> None:
        self.world, self.other, self.inner = world, other, world.transport()

    async def send(self, envelope: Envelope) -> Delivery:
        delivery = await self.inner.send(envelope)
        self.world.replace_sink()
        await self.world.run_tick(TAKEN_OVER, self.other)
        return delivery

    async def close(self) -> None:
        await self.inner.close()


def assert_other_worker_result_stands(world: World, lead: int, attempts: int) -> None:
    [row] = world.outbox(lead)
    assert (row.status, row.sent_at, row.attempts) == ("sent", TAKEN_OVER, attempts)
    assert len(world.events(lead, "sent")) == 1
    enrollment = world.enrollment(lead)
    assert (enrollment.position, enrollment.next_touch_at) == (1, TAKEN_OVER + timedelta(days=1))


def test_worker_overtaken_before_its_chunk_sends_nothing(world: World) -> None:
    [lead] = enrolled(world)
    slow = world.build(OvertakenBeforeSending, lease=LEASE)
    slow.other, slow.world = world.dispatcher(lease=LEASE), world
    report = world.tick(NOW, slow)
    assert len(world.received("lead0@example.com")) == 1
    assert report.outcomes["lease_lost"] == 1 and report.outcomes["sent"] == 0
    assert_other_worker_result_stands(world, lead, attempts=1)


def test_worker_overtaken_inside_its_smtp_transaction_records_nothing(world: World) -> None:
    [lead] = enrolled(world)
    world.sink.answer("lead0@example.com", "451 4.3.0 try again later")
    other = world.dispatcher(lease=LEASE)
    slow = world.build(Dispatcher, lease=LEASE)
    report = asyncio.run(world.run_tick(NOW, slow, OvertakenDuringSmtp(world, other)))
    assert report.outcomes["lease_lost"] == 1 and report.outcomes["retried"] == 0
    assert len(world.received("lead0@example.com")) == 1
    assert_other_worker_result_stands(world, lead, attempts=2)


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_concurrent_claims_on_postgresql_never_return_the_same_row(world: World,
                                                                   engine: Engine) -> None:
    enrolled(world, count=6)
    with engine.connect() as first, engine.connect() as second:
        with first.begin(), second.begin():
            second.execute(text("SET LOCAL lock_timeout = '2s'"))  # fail, never hang
            mine = claim_due(first, "a", NOW, 4, LEASE)
            theirs = claim_due(second, "b", NOW, 4, LEASE)
            assert len(mine) == 4 and len(theirs) == 2
            assert {c.id for c in mine}.isdisjoint({c.id for c in theirs})
        with first.begin():
            assert claim_due(first, "c", NOW, 10, LEASE) == []
