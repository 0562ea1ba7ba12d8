"""The daily digest: once per rep per working day, at the configured hour of the rep's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session

from nurture.engine.reps import set_away
from nurture.settings import DateRange
from nurture.store.models import Task
from tests.handoff.desk import Desk

MONDAY_8_NY = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)  # 08:00 EST; 14:00 in Berlin
TUESDAY_8_NY = MONDAY_8_NY + timedelta(days=1)


def _ana_has_work(desk: Desk) -> None:
    """A lead handed to Ana at dawn, a lead stalled in mql, tasks due, done and later."""
    fresh = desk.add_lead("pat@acme.test", score=64.0, fit="A")
    desk.request(fresh, at=MONDAY_8_NY - timedelta(hours=2))
    desk.handoffs(MONDAY_8_NY - timedelta(hours=2))
    desk.sink.messages.clear()
    ana = desk.rep_id("ana@sales.test")
    desk.add_lead("old@stuck.test", first_name="Olga", last_name="Stuck", company="Stuck Ltd",
                  stage="mql", owner_id=ana, now=MONDAY_8_NY - timedelta(days=12))
    desk.add_lead("new@mql.test", stage="mql", owner_id=ana, now=MONDAY_8_NY - timedelta(days=3))
    with Session(desk.engine) as session:
        for title, due, done in [
            ("Call Pat back", MONDAY_8_NY + timedelta(hours=8), None),  # 16:00 today
            ("Send the proposal", MONDAY_8_NY - timedelta(days=3), None),  # Friday: overdue
            ("Book onboarding", TUESDAY_8_NY + timedelta(hours=2), None),  # tomorrow
            ("Say thanks", MONDAY_8_NY, MONDAY_8_NY),  # done
        ]:
            session.add(Task(lead_id=fresh, owner_id=ana, title=title, due_at=due, done_at=done))
        session.commit()


def test_the_digest_comes_at_the_reps_local_hour_once_a_day(desk: Desk) -> None:
    _ana_has_work(desk)

    assert desk.digests(MONDAY_8_NY - timedelta(seconds=1)).outcomes == {"empty": 1}  # Cy
    report = desk.digests(MONDAY_8_NY)
    again = desk.digests(MONDAY_8_NY + timedelta(hours=3))

    assert report.outcomes == {"sent": 1, "empty": 1}  # Ana's; Ben has nothing
    assert again.outcomes == {}
    [digest] = desk.received("ana@sales.test")
    assert str(digest.parsed()["Subject"]) == (
        "Your leads for Mon 2 Mar: 1 new, 1 stale, 2 tasks due")
    body = desk.text(digest)
    for expected in [
        "Good morning Ana Lima, here is Monday 2 March.",
        "Pat Quinn, Acme (pat@acme.test): score 64, fit A, sql; since Mon 2 Mar 06:00 EST",
        "Stalled leads (1)", "Olga Stuck, Stuck Ltd (old@stuck.test): 12 days in mql",
        "overdue Fri 27 Feb 08:00 EST: Send the proposal (pat@acme.test)",
        "Mon 2 Mar 16:00 EST: Call Pat back (pat@acme.test)",
    ]:
        assert expected in body, expected
    assert "Book onboarding" not in body and "Say thanks" not in body
    assert "new@mql.test" not in body
    assert desk.received("ben@sales.test") == [] and desk.received("cy@sales.test") == []


def test_the_next_digest_lists_only_leads_new_since_the_last(desk: Desk) -> None:
    _ana_has_work(desk)
    desk.digests(MONDAY_8_NY)
    later = desk.add_lead("lee@acme.test")  # Ana owns Acme
    desk.request(later, at=MONDAY_8_NY + timedelta(hours=5))
    desk.handoffs(MONDAY_8_NY + timedelta(hours=5))

    assert desk.digests(TUESDAY_8_NY).outcomes == {"sent": 1, "empty": 2}

    body = desk.text(desk.received("ana@sales.test")[-1])
    assert "New leads (1)" in body and "lee@acme.test" in body
    assert "pat@acme.test):" not in body


def test_no_digest_on_days_off_or_out_of_office(desk: Desk) -> None:
    _ana_has_work(desk)
    saturday = MONDAY_8_NY - timedelta(days=2)
    assert desk.digests(saturday).outcomes == {}
    set_away(desk.engine, "ana@sales.test", [DateRange(start=date(2026, 3, 2),
                                                       end=date(2026, 3, 2))])
    assert desk.digests(MONDAY_8_NY).outcomes == {"empty": 2}  # Ben and Cy, not Ana
    assert desk.received("ana@sales.test") == []
    assert desk.digests(TUESDAY_8_NY).outcomes == {"sent": 1, "empty": 2}  # back on Tuesday
