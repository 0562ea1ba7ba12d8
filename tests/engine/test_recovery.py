"""After a crash the work resumes from the database: a touch interrupted inside its SMTP
transaction is resent once or assumed sent, as configured; a touch sent whose enrollment did
not move on is caught up without a second send."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nurture.engine.dispatch import Dispatcher
from nurture.engine.outcomes import Pending, Recorder
from tests.engine.world import NOW, World, numbered, sequence_toml

ANN = "ann@example.com"
LEASE = timedelta(minutes=5)
RECOVERED = NOW + LEASE + timedelta(seconds=1)


class Crash(Exception):
    """The process died here."""


class DiesAfterSmtp(Dispatcher):
    """Marks the chunk `sending`, runs the SMTP transactions, then dies before recording."""

    async def _send_chunk(self, chunk: list[Pending], recorder: Recorder) -> None:
        for pending in recorder.mark_sending(chunk):
            await self.transport.send(pending.envelope)
        raise Crash


def crash_mid_send(world: World) -> int:
    """A lead whose first touch went out but whose worker died before recording it."""
    world.load(sequence_toml("welcome", numbered(3)))
    lead = world.add_lead(ANN)
    world.enroll()
    with pytest.raises(Crash):
        world.tick(NOW, world.build(DiesAfterSmtp, lease=LEASE))
    [row] = world.outbox(lead)
    assert (row.status, row.attempts) == ("sending", 1)
    assert len(world.received(ANN)) == 1
    return lead


def test_interrupted_touch_is_left_alone_while_the_dead_worker_lease_lasts(world: World) -> None:
    lead = crash_mid_send(world)
    assert world.tick(RECOVERED - timedelta(seconds=2), world.dispatcher()).claimed == 0
    assert world.outbox(lead)[0].status == "sending"


def test_interrupted_touch_is_resent_once_with_the_same_message_id_when_resend(
        world: World) -> None:
    lead = crash_mid_send(world)
    report = world.tick(RECOVERED, world.dispatcher(on_interrupted="resend"))
    assert report.outcomes["sent"] == 1
    first, second = world.received(ANN)
    assert first.parsed()["Message-ID"] == second.parsed()["Message-ID"]
    [row] = world.outbox(lead)
    assert (row.status, row.attempts, row.sent_at) == ("sent", 2, RECOVERED)
    assert second.parsed()["Message-ID"] == row.message_id
    assert len(world.events(lead, "sent")) == 1
    enrollment = world.enrollment(lead)
    assert (enrollment.position, enrollment.next_touch_at) == (1, RECOVERED + timedelta(days=1))
    assert world.tick(RECOVERED).claimed == 0
    assert len(world.sink.messages) == 2


def test_interrupted_touch_is_recorded_sent_without_sending_when_assume_sent(
        world: World) -> None:
    lead = crash_mid_send(world)
    report = world.tick(RECOVERED, world.dispatcher(on_interrupted="assume_sent"))
    assert report.outcomes["assumed_sent"] == 1
    assert len(world.received(ANN)) == 1
    [row] = world.outbox(lead)
    assert (row.status, row.sent_at) == ("sent", RECOVERED)
    assert "assumed sent" in (row.reason or "")
    enrollment = world.enrollment(lead)
    assert (enrollment.position, enrollment.next_touch_at) == (1, RECOVERED + timedelta(days=1))
    assert world.tick(RECOVERED + timedelta(hours=1)).claimed == 0
    world.tick(RECOVERED + timedelta(days=1))
    assert world.subjects(ANN) == ["Touch 1", "Touch 2"]


@pytest.mark.parametrize("status", ["sent", "failed", "skipped"])
def test_touch_that_ended_but_whose_enrollment_did_not_advance_is_caught_up_without_a_send(
        world: World, status: str) -> None:
    world.load(sequence_toml("welcome", numbered(3)))
    lead = world.add_lead(ANN)
    world.enroll()
    world.tick(NOW)
    world.update_enrollments(lead, position=0, next_touch_at=NOW)  # its update was lost
    if status != "sent":
        world.update_outbox(lead, status=status)
    later = NOW + timedelta(minutes=10)
    report = world.tick(later)
    assert report.outcomes["caught_up"] == 1 and report.outcomes["sent"] == 0
    assert len(world.received(ANN)) == 1
    [row] = world.outbox(lead)
    assert row.status == status
    enrollment = world.enrollment(lead)
    assert (enrollment.position, enrollment.next_touch_at) == (1, later + timedelta(days=1))
    assert world.tick(later + timedelta(hours=1)).claimed == 0
