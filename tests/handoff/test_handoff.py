"""run_handoffs: a `handoff_requested` event becomes an owner and a note to the rep, once."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

from sqlalchemy import text
from sqlmodel import Session

from nurture.engine.handoff import run_handoffs
from nurture.store.models import Enrollment, Outbox, ScoreChange
from tests.handoff.desk import NOW, Desk

LATER = NOW + timedelta(seconds=5)


def _history(desk: Desk, lead_id: int) -> None:
    """Two emails sent, one opened twice and clicked; a form; score changes with reasons."""
    with Session(desk.engine) as session:
        enrollment = Enrollment(lead_id=lead_id, sequence_id="intro", stage="mql",
                                stage_entered_at=NOW, position=2, created_at=NOW,
                                updated_at=NOW)
        session.add(enrollment)
        session.flush()
        assert enrollment.id is not None
        for index, subject in enumerate(["Quick question about Acme", "How Kestrel did it"]):
            session.add(Outbox(enrollment_id=enrollment.id, touch_index=index, lead_id=lead_id,
                               message_id=f"<m{index}@relay.test>", subject=subject,
                               status="sent", created_at=NOW - timedelta(days=9 - index),
                               sent_at=NOW - timedelta(days=9 - index)))
        session.commit()
        outbox = session.execute(text("SELECT id FROM outbox ORDER BY id")).scalars().all()
    desk.event(lead_id, "opened", NOW - timedelta(days=8), outbox_id=outbox[0])
    for day in (8, 7):
        desk.event(lead_id, "opened", NOW - timedelta(days=day), outbox_id=outbox[1])
    desk.event(lead_id, "opened", NOW - timedelta(days=7), outbox_id=outbox[1], machine=True)
    desk.event(lead_id, "clicked", NOW - timedelta(days=7), url="https://relay.test/pricing")
    desk.event(lead_id, "form_submitted", NOW - timedelta(hours=2), form="demo-request")
    with Session(desk.engine) as session:
        for delta, after, reason in [(5, 5, "clicked /pricing"), (10, 15, "pricing bonus"),
                                     (45, 60, "form_submitted demo-request")]:
            session.add(ScoreChange(lead_id=lead_id, at=NOW - timedelta(hours=3), delta=delta,
                                    score_after=after, reason=reason))
        session.commit()


def test_a_request_gives_the_lead_an_owner_and_the_rep_its_story(desk: Desk) -> None:
    lead = desk.add_lead("pat@acme.test", title="VP Operations", industry="logistics",
                         employees=400, phone="+1 555 0100", score=60.0, fit="A")
    _history(desk, lead)
    desk.request(lead)

    report = desk.handoffs(LATER)

    assert report.outcomes == {"assigned": 1}
    assert report.notices == {"sent": 1}
    assert desk.owner(lead) == "ana@sales.test"  # both US reps are empty: by email
    [message] = desk.received("ana@sales.test")
    parsed = message.parsed()
    assert parsed["Subject"] == "New lead for you: Pat Quinn at Acme (score 60, fit A)"
    assert parsed["From"] == "Relay Labs <pipeline@relay.test>"
    assert parsed["Auto-Submitted"] == "auto-generated"
    body = desk.text(message)
    for expected in [
        "Hi Ana Lima", "Pat Quinn is yours: matches country US; least loaded (0 of 50",
        "Suggested next step: They asked for a demo", "Title: VP Operations",
        "Company: Acme (400 employees)", "Phone: +1 555 0100", "Score 60, fit A",
        'rule "sales-qualified" moved the lead from mql to sql',
        "+45 → 60 (form_submitted demo-request)", "+5 → 5 (clicked /pricing)",
        '"Quick question about Acme": opened 1×', '"How Kestrel did it": opened 2×',
        "clicked (https://relay.test/pricing)", "form submitted (demo-request)",
        "within 4 working hours", "nurture leads contacted pat@acme.test",
    ]:
        assert expected in body, expected
    assert "Mon 2 Mar 06:00 EST" in body  # score changes in the rep's time zone
    assert "<strong>Suggested next step:</strong>" in desk.html(message)


def test_each_request_is_handled_once_however_often_it_runs(desk: Desk) -> None:
    lead = desk.add_lead("pat@acme.test")
    desk.request(lead)
    desk.handoffs(LATER)
    second = desk.handoffs(LATER + timedelta(seconds=5))

    assert second.outcomes == {} and second.notices == {}
    assert len(desk.handoff_rows()) == 1
    assert len(desk.sink.messages) == 1


def test_concurrent_workers_hand_off_each_request_once(desk: Desk) -> None:
    leads = [desk.add_lead(f"lead{n}@company{n}.test", company=f"Company {n}")
             for n in range(12)]
    for lead in leads:
        desk.request(lead)
    barrier = threading.Barrier(3)

    def worker() -> None:
        barrier.wait()
        asyncio.run(_run(desk))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    rows = desk.handoff_rows()
    assert sorted(row.lead_id for row in rows) == sorted(leads)
    assert {row.status for row in rows} == {"assigned"}
    assert len(desk.sink.messages) == 12
    loads = [len(desk.received(email)) for email in ("ana@sales.test", "ben@sales.test")]
    assert loads == [6, 6]  # least loaded: the rep rows are locked while assigning


async def _run(desk: Desk) -> None:
    transport = desk.transport()
    try:
        await run_handoffs(desk.engine, desk.settings, desk.project, transport, LATER)
    finally:
        await transport.close()


def test_a_lead_whose_company_has_an_owner_goes_to_that_owner(desk: Desk) -> None:
    first = desk.add_lead("pat@acme.test")
    desk.request(first)
    desk.handoffs(LATER)
    assert desk.owner(first) == "ana@sales.test"
    colleague = desk.add_lead("sam@acme.test", company="ACME ", country="FR")
    desk.request(colleague)

    desk.handoffs(LATER)

    assert desk.owner(colleague) == "ana@sales.test"  # not Ben (less loaded), not Cy (FR)
    assert desk.handoff_rows(colleague)[0].reason == "owns 1 other lead at ACME"


def test_a_free_mail_domain_is_not_a_company(desk: Desk) -> None:
    first = desk.add_lead("pat@gmail.com", company=None)
    desk.request(first)
    desk.handoffs(LATER)
    other = desk.add_lead("sam@gmail.com", company=None)
    desk.request(other)
    desk.handoffs(LATER)

    assert {desk.owner(first), desk.owner(other)} == {"ana@sales.test", "ben@sales.test"}


def test_with_no_rep_for_the_lead_the_manager_hears_of_it(desk: Desk) -> None:
    lead = desk.add_lead("kim@tokyo.test", country="JP")
    desk.request(lead)

    report = desk.handoffs(LATER)

    assert report.outcomes == {"unassigned": 1}
    assert desk.owner(lead) is None
    [row] = desk.handoff_rows(lead)
    assert (row.status, row.sla_due_at) == ("unassigned", None)
    [message] = desk.received("boss@sales.test")
    assert str(message.parsed()["Subject"]) == (
        "No rep for Pat Quinn: no available rep covers this lead's territory and industry")


def test_the_fallback_rep_takes_what_nobody_else_can(desk: Desk) -> None:
    desk.configure(fallback_rep="cy@sales.test")
    lead = desk.add_lead("kim@tokyo.test", country="JP")
    desk.request(lead)

    desk.handoffs(LATER)

    assert desk.owner(lead) == "cy@sales.test"
    assert desk.handoff_rows(lead)[0].reason.endswith("; fallback rep")


def test_a_rep_at_capacity_is_skipped_and_then_the_fallback_takes_it(desk: Desk) -> None:
    reps = [{"name": "Ana Lima", "email": "ana@sales.test", "capacity": 1},
            {"name": "Ben Ode", "email": "ben@sales.test", "capacity": 1},
            {"name": "Fay Back", "email": "fay@sales.test", "teams": ["account_management"]}]
    desk.configure(reps=reps, fallback_rep="fay@sales.test")
    leads = [desk.add_lead(f"p{n}@c{n}.test", company=f"C{n}") for n in range(3)]
    for lead in leads:
        desk.request(lead)

    desk.handoffs(LATER)

    assert [desk.owner(lead) for lead in leads] == ["ana@sales.test", "ben@sales.test",
                                                    "fay@sales.test"]
    assert desk.handoff_rows(leads[2])[0].reason == (
        "every matching rep is at capacity; fallback rep")


def test_a_won_lead_does_not_count_towards_a_reps_load(desk: Desk) -> None:
    desk.configure(reps=[{"name": "Ana Lima", "email": "ana@sales.test", "capacity": 1}])
    won = desk.add_lead("old@won.test", stage="won", owner_id=desk.rep_id("ana@sales.test"))
    lead = desk.add_lead("pat@acme.test")
    desk.request(lead)

    desk.handoffs(LATER)

    assert (desk.owner(won), desk.owner(lead)) == ("ana@sales.test", "ana@sales.test")


def test_round_robin_follows_the_weights(desk: Desk) -> None:
    desk.configure(strategy="round_robin", reps=[
        {"name": "Ana Lima", "email": "ana@sales.test", "weight": 2},
        {"name": "Ben Ode", "email": "ben@sales.test"}])
    leads = [desk.add_lead(f"p{n}@c{n}.test", company=f"C{n}") for n in range(6)]
    for lead in leads:
        desk.request(lead)

    desk.handoffs(LATER)

    assert [desk.owner(lead)[:3] for lead in leads] == [  # type: ignore[index]
        "ana", "ben", "ana", "ana", "ben", "ana"]


def test_lead_data_in_the_note_is_escaped_and_inert(desk: Desk) -> None:
    lead = desk.add_lead("eve@evil.test", first_name="<img src=x onerror=alert(1)>",
                         last_name="[win](https://evil.test)", company="**Big** & Co")
    desk.request(lead)

    desk.handoffs(LATER)

    [message] = desk.received("ana@sales.test")
    html = desk.html(message)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'href="https://evil.test"' not in html and "[win](https://evil.test)" in html
    assert "<strong>Big</strong>" not in html and "**Big** &amp; Co" in html
    assert "Company: **Big** & Co" in desk.text(message)


def test_a_broken_template_still_tells_the_rep(desk: Desk) -> None:
    (desk.root / "templates" / "_handoff.md.j2").write_text("Hi {{ rep.nickname }}\n")
    lead = desk.add_lead("pat@acme.test")
    desk.request(lead)

    desk.handoffs(LATER)

    [message] = desk.received("ana@sales.test")
    body = desk.text(message)
    assert body.startswith("New lead for you: Pat Quinn at Acme")
    assert "_handoff.md.j2:1" in body and "nickname" in body


def test_a_new_handoff_of_the_lead_ends_the_sla_of_the_previous_one(desk: Desk) -> None:
    lead = desk.add_lead("pat@acme.test")
    desk.request(lead)
    desk.handoffs(LATER)
    desk.request(lead, rule="meeting-booked", to="sql")
    desk.handoffs(LATER + timedelta(minutes=1))

    first, second = desk.handoff_rows(lead)
    assert (first.sla_state, first.sla_due_at) == ("superseded", None)
    assert second.sla_state == "awaiting" and second.reason == "already owns this lead"
