"""The handoff SLA: a reminder after N working hours without a `contacted` event, then the
lead passes to another rep and the manager is told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from nurture.engine.reps import LEADS
from tests.handoff.desk import NOW, Desk

# Ana works 09:00-17:00 in New York; NOW is Monday 09:00 there, and the SLA is 4 hours.
REMIND_AT = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)  # Monday 13:00 in New York
REASSIGN_AT = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)  # Monday 17:00 in New York


def _handed_to_ana(desk: Desk, **fields: object) -> int:
    lead = desk.add_lead("pat@acme.test", **fields)
    desk.request(lead)
    desk.handoffs(NOW)
    assert desk.owner(lead) == "ana@sales.test"
    return lead


def test_the_rep_is_reminded_after_n_working_hours_once(desk: Desk) -> None:
    lead = _handed_to_ana(desk)
    assert desk.handoff_rows(lead)[0].sla_due_at == REMIND_AT

    assert desk.sla(REMIND_AT - timedelta(seconds=1)).outcomes == {}
    assert desk.sla(REMIND_AT).outcomes == {"reminded": 1}
    assert desk.sla(REMIND_AT + timedelta(minutes=5)).outcomes == {}

    assert desk.subjects("ana@sales.test")[1:] == [
        "Reminder: contact Pat Quinn (handed to you Mon 2 Mar 09:00 EST)"]
    body = desk.text(desk.received("ana@sales.test")[1])
    assert "nurture leads contacted pat@acme.test" in body
    assert "If nothing is recorded by Mon 2 Mar 17:00 EST, the lead goes to another rep" in body
    [row] = desk.handoff_rows(lead)
    assert (row.sla_state, row.sla_due_at) == ("reminded", REASSIGN_AT)


def test_a_contacted_lead_gets_no_reminder(desk: Desk) -> None:
    lead = _handed_to_ana(desk)
    desk.event(lead, "contacted", NOW + timedelta(hours=1), note="left a voicemail")

    assert desk.sla(REMIND_AT).outcomes == {"contacted": 1}
    assert desk.sla(REASSIGN_AT).outcomes == {}
    assert len(desk.received("ana@sales.test")) == 1  # the handoff note only
    [row] = desk.handoff_rows(lead)
    assert (row.sla_state, row.sla_due_at) == ("contacted", None)


def test_a_contact_recorded_before_the_handoff_does_not_count(desk: Desk) -> None:
    lead = desk.add_lead("pat@acme.test")
    desk.event(lead, "contacted", NOW - timedelta(days=30))
    desk.request(lead)
    desk.handoffs(NOW)

    assert desk.sla(REMIND_AT).outcomes == {"reminded": 1}


def test_after_a_second_period_the_lead_passes_on_and_the_manager_hears(desk: Desk) -> None:
    lead = _handed_to_ana(desk)
    desk.sla(REMIND_AT)

    report = desk.sla(REASSIGN_AT)

    assert report.outcomes == {"reassigned": 1}
    assert report.notices == {"sent": 2}
    assert desk.owner(lead) == "ben@sales.test"
    [note] = desk.received("ben@sales.test")
    assert str(note.parsed()["Subject"]) == (
        "New lead passed to you: Pat Quinn at Acme (score 0, fit D)")
    assert "was handed to Ana Lima, who has not been in touch yet" in desk.text(note)
    [manager] = desk.received("boss@sales.test")
    assert str(manager.parsed()["Subject"]) == (
        "Ana Lima did not contact Pat Quinn in time: passed to Ben Ode")
    assert "The lead is now with Ben Ode (ben@sales.test)" in desk.text(manager)
    [row] = desk.handoff_rows(lead)
    ana, ben = desk.rep_id("ana@sales.test"), desk.rep_id("ben@sales.test")
    assert (row.rep_id, row.holders, row.sla_state) == (ben, [ana, ben], "awaiting")
    assert row.sla_due_at == datetime(2026, 3, 3, 18, 0, tzinfo=UTC)  # Ben's 4 working hours


def test_the_lead_never_goes_back_to_a_rep_who_let_it_go(desk: Desk) -> None:
    lead = _handed_to_ana(desk)
    for moment in (REMIND_AT, REASSIGN_AT):
        desk.sla(moment)
    ben_due = desk.handoff_rows(lead)[0].sla_due_at
    assert ben_due is not None
    desk.sla(ben_due)

    report = desk.sla(ben_due + timedelta(days=1))

    assert report.outcomes == {"escalated": 1}  # Cy covers DE and FR only
    assert desk.owner(lead) == "ben@sales.test"
    assert desk.subjects("boss@sales.test")[-1] == (
        "Ben Ode did not contact Pat Quinn in time: nobody else can take it")
    [row] = desk.handoff_rows(lead)
    assert (row.sla_state, row.sla_due_at) == ("escalated", None)


def test_the_sla_clock_stops_outside_the_reps_working_hours(desk: Desk) -> None:
    friday = datetime(2026, 3, 6, 21, 0, tzinfo=UTC)  # Friday 16:00 in New York
    lead = desk.add_lead("pat@acme.test")
    desk.request(lead, at=friday)
    desk.handoffs(friday)

    due = desk.handoff_rows(lead)[0].sla_due_at

    # One hour on Friday, three on Monday (after the switch to daylight saving time).
    assert due == datetime(2026, 3, 9, 16, 0, tzinfo=UTC)  # Monday 12:00 EDT


def test_a_lead_moved_to_another_owner_by_hand_leaves_the_sla(desk: Desk) -> None:
    lead = _handed_to_ana(desk)
    with desk.engine.begin() as connection:
        connection.execute(update(LEADS).where(LEADS.c.id == lead)
                           .values(owner_id=desk.rep_id("cy@sales.test")))

    assert desk.sla(REMIND_AT).outcomes == {"owner_changed": 1}
    assert len(desk.sink.messages) == 1
