"""apply_inbound on SQLite and PostgreSQL: each kind of inbound message, matched to the email we
sent, records its event once and has its consequences (tests/conftest.py gives `engine`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from nurture.core.sequences import Pipeline, Sequence
from nurture.engine.inbound import ACCOUNT_PAUSE, AUTO_REPLY_PAUSE, Applied, apply_inbound
from nurture.files.loader import Project
from nurture.mail.classify import Classified, classify
from nurture.store.models import Enrollment, Event, Lead, Outbox, Suppression

FIXTURES = Path(__file__).parents[1] / "fixtures" / "mail"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=2)
# The Message-IDs of the emails the fixtures answer (tests/fixtures/mail).
ALICE_MAIL = "<101.0.5d41402abc4b@relay.example.com>"
BOB_MAIL = "<102.1.7d793037a076@relay.example.com>"
GONE_MAIL = "<104.2.e4d909c29087@relay.example.com>"
CAROL_MAIL = "<105.0.a87ff679a2f3@relay.example.com>"
DAVE_MAIL = "<106.1.c4ca4238a0b9@relay.example.com>"
FRANK_MAIL = "<107.0.1679091c5a88@relay.example.com>"
HEIDI_MAIL = "<108.0.8f14e45fceea@relay.example.com>"


def sequence(sequence_id: str, stop_on: list[str], account_stop: bool = False) -> Sequence:
    return Sequence.model_validate({
        "id": sequence_id, "stage": "prospecting", "stop_on": stop_on,
        "account_stop": account_stop,
        "touch": [{"template": "t.md.j2", "subject": "S", "wait": "1d"}] * 3,
    })


PROJECT = Project(
    pipeline=Pipeline.model_validate({"stage": [{"id": "prospecting", "probability": 0.05}]}),
    sequences=[sequence("cold", ["replied", "bounced"]),
               sequence("news", ["unsubscribed"]),
               sequence("abm", ["replied"], account_stop=True)],
)


class Db:
    """Leads, enrollments and sent emails, and what the database says about them after."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def lead(self, email: str, *sequences: str, message_id: str | None = None) -> int:
        """A lead enrolled in `sequences` (at touch 2); the first got an email `message_id`."""
        with Session(self.engine) as session:
            lead = Lead(email=email, stage="prospecting", stage_entered_at=NOW,
                        created_at=NOW, updated_at=NOW)
            session.add(lead)
            session.flush()
            assert lead.id is not None
            for sequence_id in sequences:
                enrollment = Enrollment(
                    lead_id=lead.id, sequence_id=sequence_id, stage="prospecting",
                    stage_entered_at=NOW, position=1, next_touch_at=NOW + timedelta(days=1),
                    created_at=NOW, updated_at=NOW)
                session.add(enrollment)
                session.flush()
                if message_id and sequence_id == sequences[0]:
                    assert enrollment.id is not None
                    session.add(Outbox(enrollment_id=enrollment.id, touch_index=0,
                                       lead_id=lead.id, message_id=message_id, subject="S",
                                       status="sent", created_at=NOW, sent_at=NOW))
            session.commit()
            return lead.id

    def apply(self, raw: bytes | Classified, now: datetime = LATER, **options: Any) -> Applied:
        classified = raw if isinstance(raw, Classified) else classify(raw)
        with self.engine.begin() as connection:
            return apply_inbound(connection, PROJECT, classified, now, **options)

    def get_lead(self, lead_id: int) -> Lead:
        with Session(self.engine) as session:
            lead = session.get(Lead, lead_id)
            assert lead is not None
            return lead

    def events(self, lead_id: int) -> list[Event]:
        with Session(self.engine) as session:
            return list(session.exec(
                select(Event).where(Event.lead_id == lead_id).order_by(col(Event.id))))

    def enrollments(self, lead_id: int) -> dict[str, Enrollment]:
        with Session(self.engine) as session:
            rows = session.exec(select(Enrollment).where(Enrollment.lead_id == lead_id))
            return {row.sequence_id: row for row in rows}


@pytest.fixture
def db(engine: Engine) -> Db:
    return Db(engine)


def fixture(name: str, new_message_id: str | None = None) -> bytes:
    raw = (FIXTURES / name).read_bytes()
    if new_message_id:  # the same report again, as a new message (a second bounce)
        raw = re.sub(rb"(?mi)^Message-Id: <[^>]+>", f"Message-Id: {new_message_id}".encode(),
                     raw, count=1)
    return raw


def test_reply_is_recorded_and_stops_the_sequences_whose_stop_on_names_it(db: Db) -> None:
    alice = db.lead("alice@acme.example", "cold", "news",
                    message_id=ALICE_MAIL)
    applied = db.apply(fixture("gmail-reply.eml"))
    assert (applied.outcome, applied.lead_id, len(applied.event_ids)) == ("recorded", alice, 1)
    [event] = db.events(alice)
    assert (event.type, event.at, event.source) == ("replied", LATER, "inbound")
    assert event.outbox_id is not None
    assert event.data["matched_by"] == "message-id"
    assert event.data["subject"] == "Re: Quick question about Acme"
    assert event.data["snippet"].endswith("Could we talk on Thursday afternoon? Alice")
    assert event.data["negative"] is False
    enrollments = db.enrollments(alice)
    assert (enrollments["cold"].status, enrollments["cold"].stop_reason) == ("stopped", "replied")
    assert enrollments["news"].status == "active"
    assert db.get_lead(alice).last_engaged_at == LATER


def test_negative_reply_is_flagged_for_scoring(db: Db) -> None:
    heidi = db.lead("heidi@vandelay.example", "cold",
                    message_id=HEIDI_MAIL)
    db.apply(fixture("outlook-reply-remove-me.eml"))
    [event] = db.events(heidi)
    assert event.data["negative"] is True


def test_auto_reply_pauses_the_lead_until_its_return_date_and_is_not_a_reply(db: Db) -> None:
    bob = db.lead("bob@globex.example", "cold", message_id=BOB_MAIL)
    db.apply(fixture("outlook-out-of-office.eml"))
    lead = db.get_lead(bob)
    assert lead.paused_until == datetime(2026, 12, 7, tzinfo=UTC)
    assert lead.last_engaged_at is None
    [event] = db.events(bob)
    assert (event.type, event.data["return_date"]) == ("auto_replied", "2026-12-07")
    cold = db.enrollments(bob)["cold"]
    assert (cold.status, cold.position) == ("active", 1)


def test_auto_reply_without_a_return_date_pauses_for_a_week(db: Db) -> None:
    bob = db.lead("bob@globex.example", "cold", message_id=BOB_MAIL)
    db.apply(b"From: Bob <bob@globex.example>\nSubject: Automatic reply: hello\n"
             b"Auto-Submitted: auto-replied\nMessage-ID: <ooo-2@globex.example>\n"
             b"In-Reply-To: <102.1.7d793037a076@relay.example.com>\n\nI am away for a while.\n")
    assert db.get_lead(bob).paused_until == LATER + AUTO_REPLY_PAUSE


def test_hard_bounce_marks_the_lead_bounced_and_stops_every_enrollment(db: Db) -> None:
    gone = db.lead("gone@initech.example", "cold", "news",
                   message_id=GONE_MAIL)
    db.apply(fixture("postfix-dsn-5.1.1.eml"))
    assert db.get_lead(gone).status == "bounced"
    assert {e.status for e in db.enrollments(gone).values()} == {"stopped"}
    [event] = db.events(gone)
    assert event.type == "bounced"
    assert (event.data["kind"], event.data["status"]) == ("hard", "5.1.1")
    assert event.data["recipient"] == "gone@initech.example"


def test_bounce_is_matched_through_the_returned_headers_part(db: Db) -> None:
    carol = db.lead("carol@contoso.example", "cold",
                    message_id=CAROL_MAIL)
    db.apply(fixture("exchange-ndr-5.1.10.eml"))
    [event] = db.events(carol)
    assert (event.data["matched_by"], event.data["status"]) == ("message-id", "5.1.10")
    assert event.outbox_id is not None


def test_bounce_of_an_email_we_do_not_know_is_matched_by_its_final_recipient(db: Db) -> None:
    gone = db.lead("gone@initech.example", "cold")  # no outbox row with that Message-ID
    applied = db.apply(fixture("postfix-dsn-5.1.1.eml"))
    assert applied.lead_id == gone
    [event] = db.events(gone)
    assert (event.data["matched_by"], event.outbox_id) == ("address", None)


def test_bounce_is_matched_by_a_plus_address_tag(db: Db) -> None:
    dave = db.lead("dave@hooli.example", "cold", message_id="<7.2.0123456789ab@relay.example.com>")
    raw = fixture("postfix-dsn-5.1.1.eml").replace(
        b"To: bounces@relay.example.com", b"To: bounces+7.2.0123456789ab@relay.example.com")
    raw = raw.replace(b"Message-ID: <104.2.e4d909c29087@relay.example.com>", b"")
    raw = raw.replace(b"gone@initech.example", b"nobody@elsewhere.example")
    db.apply(raw)
    [event] = db.events(dave)
    assert event.data["matched_by"] == "plus-address"


def test_soft_bounces_add_up_to_a_hard_one_at_the_limit(db: Db) -> None:
    dave = db.lead("dave@hooli.example", "cold", message_id=DAVE_MAIL)
    for number in (1, 2):
        db.apply(fixture("postfix-delayed-4.2.2.eml", f"<soft{number}@mx>"))
        assert db.get_lead(dave).status == "active"
    db.apply(fixture("postfix-delayed-4.2.2.eml", "<soft3@mx>"))
    kinds = [(e.data["kind"], e.data["soft_bounces"]) for e in db.events(dave)]
    assert kinds == [("soft", 1), ("soft", 2), ("hard", 3)]
    assert db.events(dave)[-1].data["escalated"] is True
    assert db.get_lead(dave).status == "bounced"
    assert db.enrollments(dave)["cold"].status == "stopped"


def test_engagement_between_soft_bounces_starts_the_count_again(db: Db) -> None:
    dave = db.lead("dave@hooli.example", "news", message_id=DAVE_MAIL)
    db.apply(fixture("postfix-delayed-4.2.2.eml", "<soft1@mx>"), now=LATER)
    db.apply(fixture("postfix-delayed-4.2.2.eml", "<soft2@mx>"), now=LATER + timedelta(hours=1))
    reply = fixture("gmail-reply.eml").replace(b"alice@acme.example", b"dave@hooli.example")
    reply = reply.replace(ALICE_MAIL.encode(), DAVE_MAIL.encode())
    db.apply(reply, now=LATER + timedelta(hours=2))
    db.apply(fixture("postfix-delayed-4.2.2.eml", "<soft3@mx>"), now=LATER + timedelta(hours=3))
    assert db.events(dave)[-1].data["kind"] == "soft"
    assert db.get_lead(dave).status == "active"


def test_complaint_suppresses_the_lead_and_its_address(db: Db, engine: Engine) -> None:
    frank = db.lead("frank@piedpiper.example", "news",
                    message_id=FRANK_MAIL)
    db.apply(fixture("arf-abuse-report.eml"))
    assert db.get_lead(frank).status == "suppressed"
    assert db.enrollments(frank)["news"].status == "stopped"
    assert [e.type for e in db.events(frank)] == ["complained"]
    with Session(engine) as session:
        [row] = session.exec(select(Suppression)).all()
    assert (row.value, row.kind, row.reason) == ("frank@piedpiper.example", "email", "complaint")


def test_reply_pauses_colleagues_in_account_stop_sequences_only(db: Db) -> None:
    alice = db.lead("alice@acme.example", "cold", message_id=ALICE_MAIL)
    grace = db.lead("grace@acme.example", "abm", "news")
    outsider = db.lead("zed@other.example", "abm")
    applied = db.apply(fixture("gmail-reply.eml"))
    assert len(applied.event_ids) == 2
    grace_now = db.enrollments(grace)
    assert grace_now["abm"].next_touch_at == LATER + ACCOUNT_PAUSE
    assert (grace_now["abm"].status, grace_now["abm"].position) == ("active", 1)
    assert grace_now["news"].next_touch_at == NOW + timedelta(days=1)
    assert db.enrollments(outsider)["abm"].next_touch_at == NOW + timedelta(days=1)
    [paused] = db.events(grace)
    assert paused.type == "account_paused"
    assert (paused.data["by"], paused.data["lead_id"]) == ("alice@acme.example", alice)
    assert paused.data["sequences"] == ["abm"]


def test_reply_from_a_free_mail_address_pauses_nobody_else(db: Db) -> None:
    db.lead("alice@gmail.com", "cold", message_id=ALICE_MAIL)
    stranger = db.lead("someone@gmail.com", "abm")
    db.apply(fixture("gmail-reply.eml").replace(b"alice@acme.example", b"alice@gmail.com"))
    assert db.enrollments(stranger)["abm"].next_touch_at == NOW + timedelta(days=1)
    assert db.events(stranger) == []


def test_the_same_message_twice_records_one_event(db: Db) -> None:
    alice = db.lead("alice@acme.example", "cold", message_id=ALICE_MAIL)
    first = db.apply(fixture("gmail-reply.eml"))
    second = db.apply(fixture("gmail-reply.eml"), now=LATER + timedelta(minutes=5))
    assert (first.outcome, second.outcome, second.event_ids) == ("recorded", "duplicate", [])
    assert len(db.events(alice)) == 1


def test_message_about_no_email_we_sent_records_nothing(db: Db) -> None:
    bystander = db.lead("bystander@acme.example", "cold")
    applied = db.apply(fixture("gmail-reply.eml"))  # Alice is not a lead, her thread unknown
    assert (applied.outcome, applied.event_ids, applied.lead_id) == ("unmatched", [], None)
    assert db.events(bystander) == []


def test_unknown_message_is_ignored(db: Db) -> None:
    assert db.apply((FIXTURES / "garbage.bin").read_bytes()).outcome == "ignored"


def test_mailto_unsubscribe_unsubscribes_the_lead_it_comes_from(db: Db) -> None:
    alice = db.lead("alice@acme.example", "cold", "news", message_id=ALICE_MAIL)
    applied = db.apply(fixture("gmail-mailto-unsubscribe.eml"))
    assert (applied.outcome, applied.lead_id) == ("recorded", alice)
    [event] = db.events(alice)
    assert (event.type, event.source, event.at) == ("unsubscribed", "inbound", LATER)
    assert (event.data["via"], event.data["matched_by"]) == ("mailto", "address")
    assert db.get_lead(alice).status == "unsubscribed"
    assert {e.status for e in db.enrollments(alice).values()} == {"stopped"}


def test_mailto_unsubscribe_is_matched_by_its_sender_not_the_thread(db: Db) -> None:
    alice = db.lead("alice@acme.example", "cold", message_id=ALICE_MAIL)
    forwarded = db.lead("grace@acme.example", "cold")
    raw = fixture("gmail-mailto-unsubscribe.eml").replace(
        b"Alice@Acme.example", b"grace@acme.example").replace(
        b"MIME-Version: 1.0\n", f"MIME-Version: 1.0\nIn-Reply-To: {ALICE_MAIL}\n".encode())
    assert db.apply(raw).lead_id == forwarded
    assert db.get_lead(alice).status == "active"
    assert db.get_lead(forwarded).status == "unsubscribed"


def test_mailto_unsubscribe_from_no_lead_or_an_unsubscribed_one_records_nothing(db: Db) -> None:
    assert db.apply(fixture("gmail-mailto-unsubscribe.eml")).outcome == "unmatched"
    alice = db.lead("alice@acme.example", "cold")
    with Session(db.engine) as session:
        lead = session.get(Lead, alice)
        assert lead is not None
        lead.status = "unsubscribed"
        session.add(lead)
        session.commit()
    applied = db.apply(fixture("gmail-mailto-unsubscribe.eml"))
    assert (applied.outcome, applied.event_ids, applied.lead_id) == ("ignored", [], alice)
    assert db.events(alice) == []


def test_the_same_mailto_unsubscribe_twice_is_a_duplicate(db: Db) -> None:
    alice = db.lead("alice@acme.example", "news")
    assert db.apply(fixture("gmail-mailto-unsubscribe.eml")).outcome == "recorded"
    assert db.apply(fixture("gmail-mailto-unsubscribe.eml")).outcome == "duplicate"
    assert [e.type for e in db.events(alice)] == ["unsubscribed"]
