"""A due touch goes out once, through the real renderer and a real transport, and the
enrollment moves on to the next touch, in the lead's send window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

from sqlmodel import Session

from nurture.core.decisions import choose_variant
from nurture.core.limits import LeadCap
from nurture.mail.maildir import MaildirTransport
from nurture.store.models import Rep
from tests.engine.world import NOW, World, numbered, sequence_toml, touch

WORKDAYS = 'send_window = { days = "mon-fri", from = "09:00", to = "17:30" }\n'
NEW_YORK_NINE_ON_MONDAY = datetime(2026, 1, 12, 14, 0, tzinfo=UTC)


def test_a_due_touch_is_sent_once_and_the_enrollment_advances_to_the_next_touch(
        world: World) -> None:
    world.load(sequence_toml("welcome", [touch("0d", "Hello {{ lead.first_name }}"),
                                         touch("3d", "Again")]))
    lead = world.add_lead("ann@example.com", first_name="Ann")
    world.enroll()
    report = world.tick(NOW)
    [received] = world.received("ann@example.com")
    message = received.parsed()
    assert message["Subject"] == "Hello Ann"
    assert received.mail_from == "sales@nurture.test"
    [row] = world.outbox(lead)
    assert (row.status, row.sent_at, row.touch_index, row.subject) == ("sent", NOW, 0, "Hello Ann")
    assert message["Message-ID"] == row.message_id
    [event] = world.events(lead, "sent")
    assert (event.at, event.outbox_id) == (NOW, row.id)
    assert event.data["sequence"] == "welcome" and event.data["touch"] == 1
    enrollment = world.enrollment(lead)
    assert (enrollment.position, enrollment.status) == (1, "active")
    assert enrollment.next_touch_at == NOW + timedelta(days=3)
    assert enrollment.lease_token is None
    assert (report.claimed, report.outcomes["sent"]) == (1, 1)
    assert world.tick(NOW).claimed == 0
    assert len(world.sink.messages) == 1


def test_whole_sequence_runs_touch_after_touch_as_time_moves_and_finishes(world: World) -> None:
    waits = ["0d", "2d", "1d", "3h", "1w"]
    world.load(sequence_toml("drip", [touch(w, f"Touch {n}") for n, w in enumerate(waits, 1)]))
    world.dispatcher(lead_cap=LeadCap(per_day=5, per_week=5))
    lead = world.add_lead("ann@example.com")
    world.enroll()
    while (due := world.enrollment(lead).next_touch_at) is not None:
        assert world.tick(due - timedelta(seconds=1)).claimed == 0
        assert world.tick(due).outcomes["sent"] == 1
    assert world.subjects("ann@example.com") == [f"Touch {n}" for n in range(1, 6)]
    rows = world.outbox(lead)
    assert [o.status for o in rows] == ["sent"] * 5
    sent_at = [o.sent_at for o in rows if o.sent_at is not None]
    assert [b - a for a, b in zip(sent_at, sent_at[1:], strict=False)] == [
        timedelta(days=2), timedelta(days=1), timedelta(hours=3), timedelta(weeks=1)]
    enrollment = world.enrollment(lead)
    assert (enrollment.status, enrollment.stop_reason, enrollment.position) == (
        "finished", "finished", 5)
    assert world.tick(NOW + timedelta(days=60)).claimed == 0


def test_ab_variant_is_stable_per_lead_and_recorded_in_the_outbox(world: World) -> None:
    subjects = ["Variant A", "Variant B"]
    world.load(sequence_toml("ab", [touch("0d", subjects), touch("1d")]))
    emails = [f"lead{n}@example.com" for n in range(8)]
    leads = [world.add_lead(email) for email in emails]
    world.sink.answer(emails[0], "451 4.3.0 try again later")
    world.enroll()
    world.tick(NOW)
    variants = {}
    for email, lead in zip(emails[1:], leads[1:], strict=True):
        [row] = world.outbox(lead)
        variants[email] = row.variant
        assert row.variant == choose_variant(email, "ab", 0, 2)
        assert world.subjects(email) == [subjects[row.variant]] == [row.subject]
    assert set(variants.values()) == {0, 1}
    [retried] = world.outbox(leads[0])
    first_choice = retried.variant
    world.replace_sink()
    world.tick(NOW + timedelta(minutes=1))
    [retried] = world.outbox(leads[0])
    assert retried.status == "sent" and retried.variant == first_choice
    assert world.subjects(emails[0]) == [subjects[first_choice]]


def test_skip_when_clicked_in_sequence_skips_the_touch_after_a_click_on_an_earlier_email(
        world: World) -> None:
    world.load(sequence_toml("follow", [touch("0d", "Touch 1"),
                                        touch("1d", "Touch 2", skip_when="clicked_in_sequence"),
                                        touch("1d", "Touch 3")]))
    clicker = world.add_lead("clicker@example.com")
    world.add_lead("quiet@example.com")
    world.enroll()
    world.tick(NOW)
    [first] = world.outbox(clicker)
    world.record(clicker, "clicked", NOW + timedelta(hours=1), outbox_id=first.id,
                 data={"url": "https://example.com/pricing"})
    report = world.tick(NOW + timedelta(days=1))
    assert report.outcomes["skipped"] == 1 and report.outcomes["sent"] == 1
    assert world.subjects("clicker@example.com") == ["Touch 1"]
    assert world.subjects("quiet@example.com") == ["Touch 1", "Touch 2"]
    enrollment = world.enrollment(clicker)
    assert (enrollment.position, enrollment.next_touch_at) == (2, NOW + timedelta(days=2))
    world.tick(NOW + timedelta(days=2))
    assert world.subjects("clicker@example.com") == ["Touch 1", "Touch 3"]
    assert [o.touch_index for o in world.outbox(clicker)] == [0, 2]


def test_touch_found_due_on_saturday_is_deferred_to_monday_opening_in_the_lead_zone(
        world: World) -> None:
    world.load(sequence_toml("work", numbered(2), window=WORKDAYS))
    friday_afternoon_in_new_york = datetime(2026, 1, 9, 21, 0, tzinfo=UTC)  # 16:00 EST
    saturday = datetime(2026, 1, 10, 15, 0, tzinfo=UTC)
    lead = world.add_lead("ann@example.com", timezone="America/New_York",
                          now=friday_afternoon_in_new_york)
    world.enroll(friday_afternoon_in_new_york)
    assert world.enrollment(lead).next_touch_at == friday_afternoon_in_new_york
    report = world.tick(saturday)  # the worker was down on Friday evening
    assert report.outcomes["deferred"] == 1 and world.sink.messages == []
    assert world.enrollment(lead).next_touch_at == NEW_YORK_NINE_ON_MONDAY
    assert world.tick(NEW_YORK_NINE_ON_MONDAY - timedelta(minutes=1)).claimed == 0
    world.tick(NEW_YORK_NINE_ON_MONDAY)
    assert world.subjects("ann@example.com") == ["Touch 1"]


def test_lead_enrolled_on_saturday_gets_its_first_touch_at_monday_opening(world: World) -> None:
    world.load(sequence_toml("work", numbered(2), window=WORKDAYS))
    saturday = datetime(2026, 1, 10, 15, 0, tzinfo=UTC)
    lead = world.add_lead("ann@example.com", timezone="America/New_York", now=saturday)
    world.enroll(saturday)
    assert world.enrollment(lead).next_touch_at == NEW_YORK_NINE_ON_MONDAY


def test_maildir_transport_receives_the_message_and_the_touch_is_recorded_sent(
        world: World, tmp_path: Path) -> None:
    maildir = tmp_path / "outbox"
    world.make_transport = lambda: MaildirTransport(maildir)
    world.load(sequence_toml("welcome", numbered(2)))
    lead = world.add_lead("ann@example.com")
    world.enroll()
    world.tick(NOW)
    [file] = list((maildir / "new").iterdir())
    message = message_from_bytes(file.read_bytes(), policy=policy.default)
    [row] = world.outbox(lead)
    assert (message["Delivered-To"], message["Subject"]) == ("ann@example.com", "Touch 1")
    assert message["Message-ID"] == row.message_id and row.status == "sent"
    assert world.sink.messages == []


def test_task_touch_creates_a_task_for_the_owner_and_moves_on_without_email(
        world: World) -> None:
    world.load(sequence_toml("call", [touch("0d", kind="task",
                                            task="Call {{ lead.first_name }} ({{ owner.name }})"),
                                      touch("1d", "After the call")]))
    with Session(world.engine) as session:
        rep = Rep(name="Rita Rep", email="rita@nurture.test")
        session.add(rep)
        session.commit()
        rep_id = rep.id
    lead = world.add_lead("ann@example.com", owner_id=rep_id)
    world.enroll()
    report = world.tick(NOW)
    [task] = world.tasks(lead)
    assert (task.owner_id, task.touch_index, task.due_at, task.done_at) == (rep_id, 0, NOW, None)
    assert task.enrollment_id == world.enrollment(lead).id
    assert task.title == "Call Pat (Rita Rep)"
    assert world.sink.messages == [] and world.outbox(lead) == []
    assert report.outcomes["task"] == 1
    enrollment = world.enrollment(lead)
    assert (enrollment.position, enrollment.next_touch_at) == (1, NOW + timedelta(days=1))
    world.tick(NOW + timedelta(days=1))
    assert world.subjects("ann@example.com") == ["After the call"]


def test_a_task_text_that_does_not_render_still_makes_the_task_with_the_text_as_written(
        world: World) -> None:
    world.load(sequence_toml("call", [touch("0d", kind="task", task="Call {{ lead.company }}")]))
    lead = world.add_lead("ann@example.com")
    world.enroll()
    world.tick(NOW)
    [task] = world.tasks(lead)
    assert task.title == "Call {{ lead.company }}"
