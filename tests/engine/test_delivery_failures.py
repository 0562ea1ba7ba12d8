"""What the mail server (or the template) says decides what happens next: a temporary refusal
is retried with backoff, a bad mailbox bounces the lead, a refused sender pauses sending, a
template that fails for one lead fails that touch only."""

from __future__ import annotations

from datetime import timedelta

from tests.engine.world import NOW, World, numbered, sequence_toml, touch

ANN = "ann@example.com"
BASE = timedelta(minutes=1)


def test_temporary_refusal_is_retried_with_exponential_backoff_then_fails_and_moves_on(
        world: World) -> None:
    world.load(sequence_toml("welcome", numbered(3)))
    world.dispatcher(max_attempts=3, retry_base=BASE)
    lead = world.add_lead(ANN)
    world.sink.answer(ANN, "451 4.3.0 Mailbox busy, try again later")
    world.enroll()
    now = NOW
    for delay in (BASE, 2 * BASE):
        assert world.tick(now).outcomes["retried"] == 1
        [row] = world.outbox(lead)
        assert (row.status, row.next_attempt_at) == ("deferred", now + delay)
        assert row.reason == "451 4.3.0 Mailbox busy, try again later"
        enrollment = world.enrollment(lead)
        assert (enrollment.position, enrollment.next_touch_at) == (0, now + delay)
        assert world.tick(now + delay - timedelta(seconds=1)).claimed == 0
        now += delay
    assert world.tick(now).outcomes["failed"] == 1
    [row] = world.outbox(lead)
    assert (row.status, row.attempts, row.sent_at) == ("failed", 3, None)
    assert row.reason == "451 4.3.0 Mailbox busy, try again later"
    enrollment = world.enrollment(lead)
    assert (enrollment.position, enrollment.status) == (1, "active")
    assert enrollment.next_touch_at == now + timedelta(days=1)
    assert world.sink.messages == [] and world.lead(lead).status == "active"


def test_temporary_refusal_then_acceptance_sends_the_touch_once(world: World) -> None:
    world.load(sequence_toml("welcome", numbered(3)))
    world.dispatcher(retry_base=BASE)
    lead = world.add_lead(ANN)
    world.sink.answer(ANN, "451 4.3.0 try again later")
    world.enroll()
    world.tick(NOW)
    world.replace_sink()
    world.tick(NOW + BASE)
    [row] = world.outbox(lead)
    assert (row.status, row.attempts, row.sent_at) == ("sent", 2, NOW + BASE)
    assert world.subjects(ANN) == ["Touch 1"]
    assert len(world.events(lead, "sent")) == 1


def test_unknown_mailbox_bounces_the_lead_and_stops_all_its_enrollments(world: World) -> None:
    world.load(sequence_toml("welcome", numbered(3)), sequence_toml("news", numbered(3, "2d")))
    lead = world.add_lead(ANN)
    reply = "550 5.1.1 <ann@example.com>: Recipient address rejected: User unknown"
    world.sink.answer(ANN, reply)
    world.enroll()
    report = world.tick(NOW)
    assert report.outcomes["bounced"] == 1
    assert world.lead(lead).status == "bounced"
    [event] = world.events(lead, "bounced")
    assert event.data["reason"] == reply and event.data["kind"] == "hard"
    assert event.data["enhanced"] == "5.1.1"
    [row] = world.outbox(lead)
    assert (row.status, row.reason) == ("failed", reply)
    assert event.outbox_id == row.id
    assert [(e.status, e.next_touch_at) for e in world.enrollments(lead)] == [
        ("stopped", None), ("stopped", None)]
    assert world.tick(NOW + timedelta(days=30)).claimed == 0
    assert world.sink.messages == []


def test_refused_sender_pauses_sending_and_the_touch_goes_out_after_the_pause(
        world: World) -> None:
    world.load(sequence_toml("welcome", numbered(3)))
    pause = timedelta(minutes=30)
    dispatcher = world.dispatcher(sender_pause=pause, chunk_size=1, retry_base=BASE)
    ann = world.add_lead(ANN)
    bob = world.add_lead("bob@example.com")
    world.sink.answer("sales@nurture.test",
                      "550 5.7.26 Unauthenticated email is not accepted from this domain",
                      at="mail")
    world.enroll()
    report = world.tick(NOW)
    assert dispatcher.paused_until == NOW + pause
    assert "5.7.26" in dispatcher.pause_reason
    assert report.outcomes["sent"] == 0 and report.outcomes["deferred"] == 1
    for lead in (ann, bob):
        assert world.lead(lead).status == "active"
        assert world.events(lead, "bounced") == []
        [row] = world.outbox(lead)
        assert (row.status, row.attempts, row.next_attempt_at) == ("deferred", 0, NOW + pause)
        assert "5.7.26" in (row.reason or "")
        enrollment = world.enrollment(lead)
        assert (enrollment.status, enrollment.next_touch_at) == ("active", NOW + pause)
    world.replace_sink()
    assert world.tick(NOW + pause - timedelta(seconds=1)).claimed == 0
    report = world.tick(NOW + pause)
    assert report.outcomes["sent"] == 2 and dispatcher.paused_until is None
    assert world.subjects(ANN) == ["Touch 1"] == world.subjects("bob@example.com")
    assert [o.attempts for o in world.outbox(ann) + world.outbox(bob)] == [1, 1]


def test_template_failing_for_one_lead_fails_that_touch_and_the_batch_still_sends(
        world: World) -> None:
    world.template("company.md.j2", "We help teams like {{ lead.company }}.\n")
    world.load(sequence_toml("pitch", [touch("0d", "For you", template="company.md.j2"),
                                       touch("1d", "Later")]))
    without = world.add_lead("nocompany@example.com")
    with_company = [world.add_lead(f"lead{n}@example.com", company=f"Co {n}") for n in range(3)]
    world.enroll()
    report = world.tick(NOW)
    assert report.outcomes["failed"] == 1 and report.outcomes["sent"] == 3
    [row] = world.outbox(without)
    assert row.status == "failed" and row.sent_at is None
    assert "company.md.j2" in (row.reason or "") and "company" in (row.reason or "")
    enrollment = world.enrollment(without)
    assert (enrollment.position, enrollment.next_touch_at) == (1, NOW + timedelta(days=1))
    assert world.received("nocompany@example.com") == []
    for lead in with_company:
        assert [o.status for o in world.outbox(lead)] == ["sent"]
    body = world.received("lead0@example.com")[0].parsed().get_body(("plain",))
    assert body is not None and "Co 0" in body.get_content()
