"""Nobody who must not be mailed is mailed: suppression, and a lead who unsubscribes after
the batch was claimed and planned but before its SMTP transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from nurture.engine.dispatch import Dispatcher
from nurture.engine.outcomes import Pending, Recorder
from tests.engine.world import NOW, World, numbered, sequence_toml


class ChangesBeforeSending(Dispatcher):
    """The real dispatcher, with something happening in the world between the written plan
    and the chunk's send (what another process could do at that moment)."""

    meanwhile: Callable[[], None] = staticmethod(lambda: None)

    async def _send_chunk(self, chunk: list[Pending], recorder: Recorder) -> None:
        self.meanwhile()
        await super()._send_chunk(chunk, recorder)


def test_unsubscribed_lead_gets_nothing_even_when_its_enrollment_was_already_claimed(
        world: World) -> None:
    world.load(sequence_toml("welcome", numbered(3)))
    ann = world.add_lead("ann@example.com")
    world.add_lead("bob@example.com")
    world.enroll()
    dispatcher = world.build(ChangesBeforeSending)
    dispatcher.meanwhile = lambda: world.record(ann, "unsubscribed", NOW)
    report = world.tick(NOW, dispatcher)
    assert world.received("ann@example.com") == []
    assert world.subjects("bob@example.com") == ["Touch 1"]
    [row] = world.outbox(ann)
    assert row.status == "skipped" and row.sent_at is None
    assert "unsubscribed" in (row.reason or "")
    assert world.events(ann, "sent") == []
    enrollment = world.enrollment(ann)
    assert (enrollment.status, enrollment.next_touch_at) == ("stopped", None)
    assert report.outcomes["skipped"] == 1 and report.outcomes["sent"] == 1


def test_lead_who_replies_after_planning_gets_nothing_from_the_stopped_sequence(
        world: World) -> None:
    world.load(sequence_toml("welcome", numbered(3)))
    ann = world.add_lead("ann@example.com")
    world.enroll()
    dispatcher = world.build(ChangesBeforeSending)
    dispatcher.meanwhile = lambda: world.record(ann, "replied", NOW)
    report = world.tick(NOW, dispatcher)
    assert world.sink.messages == []
    [row] = world.outbox(ann)
    assert row.status == "skipped" and "replied" in (row.reason or "")
    enrollment = world.enrollment(ann)
    assert (enrollment.status, enrollment.stop_reason) == ("stopped", "replied")
    assert world.lead(ann).status == "active"
    assert report.outcomes["skipped"] == 1 and report.outcomes["sent"] == 0


def test_lead_suppressed_after_planning_is_skipped_at_the_send(world: World) -> None:
    world.load(sequence_toml("welcome", numbered(3)))
    ann = world.add_lead("ann@example.com")
    world.enroll()
    dispatcher = world.build(ChangesBeforeSending)
    dispatcher.meanwhile = lambda: world.suppress("example.com", "domain")
    world.tick(NOW, dispatcher)
    assert world.sink.messages == []
    [row] = world.outbox(ann)
    assert row.status == "skipped" and row.reason
    assert world.enrollment(ann).status == "stopped"


@pytest.mark.parametrize(("value", "kind"), [("ann@example.com", "email"),
                                             ("EXAMPLE.com", "domain")])
def test_suppressed_address_or_domain_stops_the_enrollment_and_nothing_is_sent(
        world: World, value: str, kind: str) -> None:
    world.load(sequence_toml("welcome", numbered(3)))
    ann = world.add_lead("Ann@Example.com")
    world.add_lead("other@elsewhere.test")
    world.enroll()
    world.suppress(value, kind)
    report = world.tick(NOW)
    assert world.received("ann@example.com") == []
    assert world.subjects("other@elsewhere.test") == ["Touch 1"]
    enrollment = world.enrollment(ann)
    assert (enrollment.status, enrollment.next_touch_at) == ("stopped", None)
    assert enrollment.stop_reason == "lead suppressed"
    assert world.outbox(ann) == []
    assert report.outcomes["stopped"] == 1
    world.tick(NOW + timedelta(days=1))
    assert world.received("ann@example.com") == []
