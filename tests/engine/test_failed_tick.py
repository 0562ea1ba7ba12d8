"""A tick that fails after claiming (here: the database loses a table mid-batch) hands back the
claims it did not complete, so the next tick retries them at once instead of after the lease;
what it sent is recorded if the database lets it, and a touch whose answer could not be
recorded stays leased until the lease expires, then `on_interrupted` settles it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from nurture.engine.dispatch import Dispatcher
from nurture.engine.outcomes import Pending, Recorder
from nurture.mail.transport import Delivery, Envelope
from tests.engine.world import NOW, World, numbered, sequence_toml

LEASE = timedelta(minutes=5)
NEXT_TICK = NOW + timedelta(seconds=10)
LEADS = [f"lead{n}@example.com" for n in range(3)]


def rename_table(engine: Engine, old: str, new: str) -> None:
    with engine.begin() as connection:
        connection.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))


def three_leads(world: World) -> list[int]:
    world.load(sequence_toml("welcome", numbered(3)))
    leads = [world.add_lead(email) for email in LEADS]
    world.enroll()
    return leads


class LosesATableBeforeItsSecondChunk(Dispatcher):
    """The real dispatcher; before its second chunk the suppression list, which the chunk
    reads again before sending, is gone."""

    chunks = 0

    async def _send_chunk(self, chunk: list[Pending], recorder: Recorder) -> None:
        self.chunks += 1
        if self.chunks == 2:
            rename_table(self.engine, "suppression", "suppression_gone")
        await super()._send_chunk(chunk, recorder)


class LosesATableInsideASend:
    """A real SMTP transport; right after the mail server accepted `victim`'s message, the
    event table (where the send is recorded) is gone."""

    name = "smtp"

    def __init__(self, world: World, victim: str) -> None:
        self.world, self.victim, self.inner = world, victim, world.transport()

    async def send(self, envelope: Envelope) -> Delivery:
        delivery = await self.inner.send(envelope)
        if envelope.recipients == (self.victim,):
            rename_table(self.world.engine, "event", "event_gone")
        return delivery

    async def close(self) -> None:
        await self.inner.close()


def test_tick_failing_before_a_chunk_is_sent_hands_the_unsent_claims_to_the_next_tick(
        world: World) -> None:
    leads = three_leads(world)
    failing = world.build(LosesATableBeforeItsSecondChunk, chunk_size=1, lease=LEASE)
    with pytest.raises(DBAPIError):
        world.tick(NOW, failing)
    rename_table(world.engine, "suppression_gone", "suppression")
    assert [world.enrollment(lead).lease_token for lead in leads] == [None, None, None]
    first = world.enrollment(leads[0])
    assert (first.position, world.outbox(leads[0])[0].status) == (1, "sent")
    assert [world.outbox(lead)[0].status for lead in leads[1:]] == ["pending", "pending"]
    report = world.tick(NEXT_TICK, world.dispatcher(lease=LEASE))
    assert (report.claimed, report.outcomes["sent"]) == (2, 2)
    assert [world.subjects(email) for email in LEADS] == [["Touch 1"]] * 3
    assert [len(world.events(lead, "sent")) for lead in leads] == [1, 1, 1]


def test_touch_whose_answer_could_not_be_recorded_waits_for_its_lease_the_rest_goes_on(
        world: World) -> None:
    leads = three_leads(world)
    failing = world.build(Dispatcher, chunk_size=1, lease=LEASE)
    with pytest.raises(DBAPIError):
        asyncio.run(world.run_tick(NOW, failing, LosesATableInsideASend(world, LEADS[1])))
    rename_table(world.engine, "event_gone", "event")
    in_doubt = world.enrollment(leads[1])
    assert in_doubt.lease_token is not None and world.outbox(leads[1])[0].status == "sending"
    assert world.enrollment(leads[2]).lease_token is None
    report = world.tick(NEXT_TICK, world.dispatcher(lease=LEASE))
    assert (report.claimed, report.outcomes["sent"]) == (1, 1)
    assert world.subjects(LEADS[2]) == ["Touch 1"]
    assert world.tick(NOW + LEASE - timedelta(seconds=1)).claimed == 0
    report = world.tick(NOW + LEASE + timedelta(seconds=1))  # resent: on_interrupted = resend
    assert (report.claimed, report.outcomes["sent"]) == (1, 1)
    first, again = world.received(LEADS[1])
    assert first.parsed()["Message-ID"] == again.parsed()["Message-ID"]
    assert world.subjects(LEADS[0]) == ["Touch 1"]
    assert [len(world.events(lead, "sent")) for lead in leads] == [1, 1, 1]
