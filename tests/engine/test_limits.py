"""Sending limits defer touches, never drop them: a lead's frequency cap across sequences,
the per-domain rate and the sending mailbox's hourly cap."""

from __future__ import annotations

from datetime import timedelta

from nurture.core.limits import LeadCap
from tests.engine.world import NOW, World, numbered, sequence_toml, touch

ANN = "ann@example.com"
DAY = timedelta(days=1)


def test_lead_in_two_sequences_gets_at_most_per_day_emails_and_the_other_is_sent_next_day(
        world: World) -> None:
    world.load(sequence_toml("welcome", numbered(2, "3d")),
               sequence_toml("news", numbered(2, "3d")))
    world.dispatcher(lead_cap=LeadCap(per_day=1, per_week=5))
    lead = world.add_lead(ANN)
    world.enroll()
    report = world.tick(NOW)
    assert (report.outcomes["sent"], report.outcomes["deferred"]) == (1, 1)
    [sent] = world.outbox(lead)
    capped = next(e for e in world.enrollments(lead) if e.id != sent.enrollment_id)
    assert (capped.position, capped.status, capped.next_touch_at) == (0, "active", NOW + DAY)
    assert world.tick(NOW + DAY - timedelta(seconds=1)).claimed == 0
    assert world.tick(NOW + DAY).outcomes["sent"] == 1
    assert world.subjects(ANN) == ["Touch 1", "Touch 1"]
    assert [o.sent_at for o in world.outbox(lead)] == [NOW, NOW + DAY]
    assert {o.enrollment_id for o in world.outbox(lead)} == {e.id for e in world.enrollments(lead)}


def test_task_touch_does_not_use_up_the_lead_email_cap(world: World) -> None:
    world.load(sequence_toml("call", [touch("0d", kind="task", task="Call"), touch("3d")]),
               sequence_toml("welcome", numbered(2, "3d")))
    world.dispatcher(lead_cap=LeadCap(per_day=1, per_week=5))
    lead = world.add_lead(ANN)
    world.enroll()
    report = world.tick(NOW)
    assert (report.outcomes["task"], report.outcomes["sent"]) == (1, 1)
    assert world.subjects(ANN) == ["Touch 1"] and len(world.tasks(lead)) == 1


def test_leads_over_the_per_domain_rate_in_a_batch_are_deferred_by_a_minute(
        world: World) -> None:
    world.load(sequence_toml("welcome", numbered(2)))
    world.dispatcher(per_domain_per_minute=2)
    same_domain = [world.add_lead(f"lead{n}@bigcorp.test") for n in range(4)]
    elsewhere = world.add_lead("solo@small.test")
    world.enroll()
    report = world.tick(NOW)
    assert (report.outcomes["sent"], report.outcomes["deferred"]) == (3, 2)
    assert len(world.received("solo@small.test")) == 1
    assert sum(1 for m in world.sink.messages if m.recipients[0].endswith("@bigcorp.test")) == 2
    waiting = [world.enrollment(lead) for lead in same_domain
               if not world.outbox(lead)]
    assert [(e.position, e.next_touch_at) for e in waiting] == [(0, NOW + timedelta(minutes=1))] * 2
    assert world.enrollment(elsewhere).position == 1
    assert world.tick(NOW + timedelta(minutes=1)).outcomes["sent"] == 2
    assert all(world.outbox(lead)[0].status == "sent" for lead in same_domain)


def test_mailbox_hourly_cap_claims_and_sends_only_what_it_allows_the_rest_stay_due(
        world: World) -> None:
    world.load(sequence_toml("welcome", numbered(2)))
    world.dispatcher(per_hour=3)
    leads = [world.add_lead(f"lead{n}@example.com") for n in range(5)]
    world.enroll()
    report = world.tick(NOW)
    assert (report.claimed, report.outcomes["sent"]) == (3, 3)
    assert len(world.sink.messages) == 3
    untouched = [world.enrollment(lead) for lead in leads if not world.outbox(lead)]
    assert [(e.position, e.next_touch_at, e.lease_token) for e in untouched] == [
        (0, NOW, None)] * 2
    assert world.tick(NOW + timedelta(minutes=59)).claimed == 0
    report = world.tick(NOW + timedelta(hours=1, seconds=1))
    assert (report.claimed, report.outcomes["sent"]) == (2, 2)
    assert len(world.sink.messages) == 5
