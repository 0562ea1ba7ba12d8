"""classify() on real-shaped messages (tests/fixtures/mail) and on each heuristic alone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from nurture.mail.classify import classify

FIXTURES = Path(__file__).parents[1] / "fixtures" / "mail"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.mark.parametrize(("name", "kind", "about", "recipient", "status"), [
    ("postfix-dsn-5.1.1.eml", "hard_bounce", "<104.2.e4d909c29087@relay.example.com>",
     "gone@initech.example", "5.1.1"),
    ("exchange-ndr-5.1.10.eml", "hard_bounce", "<105.0.a87ff679a2f3@relay.example.com>",
     "carol@contoso.example", "5.1.10"),
    ("postfix-delayed-4.2.2.eml", "soft_bounce", "<106.1.c4ca4238a0b9@relay.example.com>",
     "dave@hooli.example", "4.2.2"),
    ("qmail-failure-notice.eml", "hard_bounce", "<109.3.45c48cce2e2d@relay.example.com>",
     "ivan@stark.example", "5.1.1"),
    ("gmail-reply.eml", "reply", "<101.0.5d41402abc4b@relay.example.com>",
     "alice@acme.example", None),
    ("outlook-reply-remove-me.eml", "reply", "<108.0.8f14e45fceea@relay.example.com>",
     "heidi@vandelay.example", None),
    ("outlook-out-of-office.eml", "auto_reply", "<102.1.7d793037a076@relay.example.com>",
     "bob@globex.example", None),
    ("vacation-x-autoreply.eml", "auto_reply", "<103.0.9e107d9d372b@relay.example.com>",
     "erin@umbrella.example", None),
    ("arf-abuse-report.eml", "complaint", "<107.0.1679091c5a88@relay.example.com>",
     "frank@piedpiper.example", None),
])
def test_each_real_message_is_classified_and_points_at_the_email_we_sent(
        name: str, kind: str, about: str, recipient: str, status: str | None) -> None:
    classified = classify(fixture(name))
    assert classified.kind == kind, classified.reason
    assert classified.referenced_message_ids[0] == about
    assert classified.original_recipient == recipient
    assert classified.status == status


@pytest.mark.parametrize("name", ["postfix-dsn-5.1.1.eml", "outlook-out-of-office.eml"])
def test_crlf_and_lf_line_endings_read_the_same(name: str) -> None:
    lf = classify(fixture(name))
    crlf = classify(fixture(name).replace(b"\n", b"\r\n"))
    assert crlf == lf


def test_bounce_keeps_the_remote_servers_words() -> None:
    classified = classify(fixture("exchange-ndr-5.1.10.eml"))
    assert classified.diagnostic == ("550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not "
                                     "found by SMTP address lookup")
    assert classified.key.startswith("<3f1e2d4c-")


def test_out_of_office_return_date_prefers_back_on_over_until() -> None:
    classified = classify(fixture("outlook-out-of-office.eml"))
    assert classified.return_date == date(2026, 12, 7)  # not "until Friday 4 December"


def test_vacation_return_date_without_a_year_is_read_against_the_message_date() -> None:
    assert classify(fixture("vacation-x-autoreply.eml")).return_date == date(2026, 12, 2)


def test_reply_snippet_is_the_persons_words_without_the_quoted_email() -> None:
    classified = classify(fixture("gmail-reply.eml"))
    assert classified.snippet.startswith("Hi, Thanks — yes, this is timely.")
    assert "Could we talk on Thursday afternoon?" in classified.snippet
    assert "onboarding" not in classified.snippet and "Unsubscribe" not in classified.snippet
    assert classified.negative is False  # the quoted footer says "Unsubscribe"; Alice did not


def test_reply_asking_to_be_removed_is_negative_and_outlook_quote_is_cut() -> None:
    classified = classify(fixture("outlook-reply-remove-me.eml"))
    assert classified.negative is True
    assert classified.snippet == "Not interested, please remove me from your list. Heidi"


@pytest.mark.parametrize(("raw", "reason"), [
    (b"", "not an email: no header found"),
    (b"\x00\xff\xfe garbage \x00", "not an email: no header found"),
    ((FIXTURES / "garbage.bin").read_bytes(), "not an email: no header found"),
    (b"just some text\nwith lines\n", "not an email: no header found"),
    (b"From: \x00\x01<<>>\nDate: yesterday-ish\nMessage-ID: <<<\nSubject: =?utf-8?b?!!!?=\n\nhi",
     "no From address"),
    (b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\n\n--x\n"
     b"Content-Type: message/delivery-status\n\nnot: really\n--x",
     "delivery report without a failed or delayed recipient"),
])
def test_garbage_is_unknown_with_a_reason_and_never_raises(raw: bytes, reason: str) -> None:
    classified = classify(raw)
    assert (classified.kind, classified.reason) == ("unknown", reason)
    assert classified.key.startswith("sha256:")  # no usable Message-ID: the bytes' hash


def message(body: str = "Thanks, let's talk.", **headers: str) -> bytes:
    built = EmailMessage()
    built["From"] = "Pat <pat@lead.example>"
    built["To"] = "hello@relay.example.com"
    built["Subject"] = "Re: Quick question"
    built["Date"] = "Thu, 26 Nov 2026 08:00:00 +0000"
    built["Message-ID"] = "<m1@lead.example>"
    built["In-Reply-To"] = "<1.0.aaaaaaaaaaaa@relay.example.com>"
    for name, value in headers.items():
        del built[name.replace("_", "-")]
        built[name.replace("_", "-")] = value
    built.set_content(body)
    return built.as_bytes()


@pytest.mark.parametrize(("headers", "kind", "reason"), [
    ({}, "reply", "a person's reply"),
    ({"Auto_Submitted": "auto-replied"}, "auto_reply", "Auto-Submitted: auto-replied"),
    ({"Auto_Submitted": "auto-generated"}, "auto_reply", "Auto-Submitted: auto-generated"),
    ({"Auto_Submitted": "no"}, "reply", "a person's reply"),
    ({"X_Autoreply": "yes"}, "auto_reply", "x-autoreply header"),
    ({"X_Autorespond": "Out of office"}, "auto_reply", "x-autorespond header"),
    ({"Precedence": "auto_reply"}, "auto_reply", "Precedence: auto_reply"),
    ({"Subject": "Out of Office: Re: Quick question"}, "auto_reply", "out-of-office subject"),
    ({"Subject": "Automatic reply: Quick question"}, "auto_reply", "out-of-office subject"),
    ({"Subject": "Abwesenheitsnotiz: Quick question"}, "auto_reply", "out-of-office subject"),
    ({"Precedence": "bulk"}, "unknown", "Precedence: bulk (bulk mail, not a person)"),
    ({"List_Id": "<news.lead.example>"}, "unknown", "mailing-list message, not a person"),
])
def test_auto_reply_and_bulk_heuristics(headers: dict[str, str], kind: str, reason: str) -> None:
    classified = classify(message(**headers))
    assert (classified.kind, classified.reason) == (kind, reason)


def test_auto_reply_with_no_readable_date_has_none() -> None:
    classified = classify(message("I am away for a while.", Auto_Submitted="auto-replied"))
    assert classified.return_date is None


def test_reply_references_put_in_reply_to_first_then_newest_reference() -> None:
    classified = classify(message(References="<a@x> <b@x> <c@x>", In_Reply_To="<c@x>"))
    assert classified.referenced_message_ids == ("<c@x>", "<b@x>", "<a@x>")


def dsn(status: str, action: str = "failed", diagnostic: str = "", to: str = "bounces@r.example"
        ) -> bytes:
    return (
        f"From: MAILER-DAEMON@mx.example\nTo: {to}\nSubject: Undelivered Mail\n"
        "Message-ID: <dsn1@mx.example>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\nsorry\n"
        "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n\n"
        f"Final-Recipient: rfc822; lead@x.example\nAction: {action}\nStatus: {status}\n"
        f"Diagnostic-Code: smtp; {diagnostic}\n\n--b--\n"
    ).encode()


@pytest.mark.parametrize(("status", "diagnostic", "kind"), [
    ("5.1.1", "550 5.1.1 no such user", "hard_bounce"),
    ("5.2.1", "550 5.2.1 mailbox disabled", "hard_bounce"),
    ("5.0.0", "550 5.0.0 <lead@x.example>: User unknown", "hard_bounce"),
    ("5.2.2", "552 5.2.2 mailbox full", "soft_bounce"),
    ("5.7.1", "554 5.7.1 message rejected as spam", "soft_bounce"),
    ("4.4.1", "connection timed out", "soft_bounce"),
])
def test_bounce_severity_follows_the_smtp_reply_table(status: str, diagnostic: str,
                                                       kind: str) -> None:
    assert classify(dsn(status, diagnostic=diagnostic)).kind == kind


def test_delivery_report_of_a_success_is_unknown() -> None:
    classified = classify(dsn("2.0.0", action="delivered"))
    assert classified.kind == "unknown"
    assert "without a failed or delayed recipient" in classified.reason


def test_plus_address_tag_is_read_from_the_bounce_recipient() -> None:
    raw = dsn("5.1.1", to="bounces+12.3.0123456789ab@relay.example.com")
    assert classify(raw).plus_tags == ("12.3.0123456789ab",)


def test_feedback_report_of_type_not_spam_is_not_a_complaint() -> None:
    raw = fixture("arf-abuse-report.eml").replace(b"Feedback-Type: abuse",
                                                  b"Feedback-Type: not-spam")
    assert classify(raw).kind == "unknown"


def test_message_date_is_read_as_aware_utc() -> None:
    classified = classify(fixture("gmail-reply.eml"))
    assert classified.sent_at == datetime(2026, 11, 23, 14, 48, 19, tzinfo=UTC)


def test_the_list_unsubscribe_mailto_message_is_an_unsubscribe_request_from_its_sender() -> None:
    classified = classify(fixture("gmail-mailto-unsubscribe.eml"))
    assert (classified.kind, classified.sender) == ("unsubscribe_request", "alice@acme.example")
    assert classified.original_recipient == "alice@acme.example"


@pytest.mark.parametrize(("headers", "kind"), [
    ({"Subject": "unsubscribe"}, "unsubscribe_request"),
    ({"Subject": "UNSUBSCRIBE"}, "unsubscribe_request"),
    ({"Subject": "Re: Unsubscribe"}, "unsubscribe_request"),
    ({"Subject": "RE: re:  unsubscribe"}, "unsubscribe_request"),
    ({"Subject": "unsubscribe", "Auto_Submitted": "auto-generated"}, "unsubscribe_request"),
    ({"Subject": "Fwd: unsubscribe"}, "reply"),
    ({"Subject": "please unsubscribe me"}, "reply"),
    ({"Subject": "unsubscribed"}, "reply"),
    ({"Subject": "Automatic reply: unsubscribe"}, "auto_reply"),
    ({"Subject": "unsubscribe", "From": "<>"}, "unknown"),
])
def test_unsubscribe_request_needs_exactly_that_subject_and_a_sender(
        headers: dict[str, str], kind: str) -> None:
    assert classify(message(**headers)).kind == kind


def test_a_header_cut_to_its_bound_does_not_swallow_the_next_one() -> None:
    from nurture.mail.classify import MAX_FIELD_BYTES, _bounded_headers

    raw = (b"Subject: " + b"x" * (2 * MAX_FIELD_BYTES) + b"\r\nFrom: ann@example.com\r\n"
           b"\r\nbody\r\n")
    bounded = _bounded_headers(raw)
    assert len(bounded) < MAX_FIELD_BYTES + 100
    assert bounded.endswith(b"\r\nFrom: ann@example.com\r\n\r\nbody\r\n")
