"""The enrollment sweep, and what the dispatcher does when a lead moves to another stage."""

from __future__ import annotations

from datetime import timedelta

from tests.engine.world import NOW, World, numbered, sequence_toml

ANYONE = sequence_toml("welcome", numbered(2))
NOT_REFERRALS = sequence_toml("cold-intro", numbered(2),
                              head="enroll_when = \"lead.source != 'referral'\"\n")
QUALIFIED = sequence_toml("discovery", numbered(2), stage="qualification")


def test_sweep_enrolls_flagged_leads_in_their_stage_sequences_whose_enroll_when_holds(
        world: World) -> None:
    world.load(ANYONE, NOT_REFERRALS, QUALIFIED)
    cold = world.add_lead("cold@example.com", source="webinar")
    referred = world.add_lead("referred@example.com", source="referral")
    assert world.enroll() == 2
    assert sorted(e.sequence_id for e in world.enrollments(cold)) == ["cold-intro", "welcome"]
    [only] = world.enrollments(referred)
    assert (only.sequence_id, only.stage, only.position, only.status) == (
        "welcome", "prospecting", 0, "active")
    assert only.next_touch_at == NOW
    assert only.stage_entered_at == world.lead(referred).stage_entered_at
    assert not world.lead(cold).needs_enrollment and not world.lead(referred).needs_enrollment


def test_enrolling_twice_for_the_same_stay_in_a_stage_is_a_no_op(world: World) -> None:
    world.load(ANYONE)
    lead = world.add_lead("ann@example.com")
    world.enroll()
    world.tick(NOW)
    world.update_lead(lead, needs_enrollment=True)
    world.enroll(NOW + timedelta(hours=1))
    [enrollment] = world.enrollments(lead)
    assert (enrollment.position, enrollment.created_at) == (1, NOW)
    assert not world.lead(lead).needs_enrollment


def test_a_lead_in_a_stopping_status_is_not_enrolled(world: World) -> None:
    world.load(ANYONE)
    for status in ("unsubscribed", "bounced", "suppressed", "converted", "disqualified"):
        lead = world.add_lead(f"{status}@example.com", status=status)
        world.enroll()
        assert world.enrollments(lead) == []
        assert not world.lead(lead).needs_enrollment


def test_stage_change_stops_the_old_enrollment_at_its_next_tick_and_sweep_enrolls_the_new(
        world: World) -> None:
    world.load(ANYONE, QUALIFIED)
    lead = world.add_lead("ann@example.com")
    world.enroll()
    world.tick(NOW)
    moved = NOW + timedelta(hours=2)
    world.update_lead(lead, stage="qualification", stage_entered_at=moved, needs_enrollment=True)
    world.enroll(moved)
    report = world.tick(NOW + timedelta(days=1))
    old, new = world.enrollments(lead)
    assert (old.sequence_id, old.status, old.stop_reason, old.next_touch_at) == (
        "welcome", "stopped", "stage_changed", None)
    assert (new.sequence_id, new.stage, new.stage_entered_at) == ("discovery", "qualification",
                                                                  moved)
    assert report.outcomes["stopped"] == 1
    assert world.subjects("ann@example.com") == ["Touch 1", "Touch 1"]
    assert [o.enrollment_id for o in world.outbox(lead)] == [old.id, new.id]
