"""Every row of the reply table in nurture/mail/status.py."""

from __future__ import annotations

import pytest

from nurture.mail.status import classify, enhanced_status
from nurture.mail.transport import Outcome

SENT, RETRY = Outcome.SENT, Outcome.RETRY
RECIPIENT, SENDER = Outcome.RECIPIENT_REJECTED, Outcome.SENDER_REJECTED

ROWS = [
    (250, "2.0.0 OK: queued as 12345", SENT),
    (251, "User not local; will forward", SENT),
    (421, "4.7.0 Try again later, closing connection", RETRY),
    (450, "4.2.1 The user you are trying to contact is receiving mail too quickly", RETRY),
    (451, "4.3.0 Temporary system failure", RETRY),
    (452, "4.2.2 Mailbox full", RETRY),
    (550, "5.1.1 <gone@example.com>: no such user", RECIPIENT),
    (553, "5.1.3 Bad recipient address syntax", RECIPIENT),
    (550, "5.1.10 RESOLVER.ADR.RecipientNotFound; not found", RECIPIENT),
    (550, "5.2.1 Mailbox disabled, not accepting messages", RECIPIENT),
    (552, "5.2.2 Mailbox full", RETRY),
    (552, "5.2.3 Message length exceeds administrative limit", SENDER),
    (552, "5.3.4 Message too big for system", SENDER),
    (550, "5.4.1 Recipient address rejected: Access denied", RECIPIENT),
    (550, "5.4.4 Unable to route: no mail server for example.invalid", RECIPIENT),
    (554, "5.7.1 <lead@example.com>: Relay access denied", SENDER),
    (550, "5.7.26 Unauthenticated email from example.com is not accepted due to DMARC", SENDER),
    (550, "5.7.1 <lead@example.com>: Recipient address rejected: user unknown", SENDER),
    (530, "5.7.0 Authentication required", SENDER),
    (535, "5.7.8 Authentication credentials invalid", SENDER),
    (530, "Authentication required", SENDER),
    (535, "Incorrect authentication data", SENDER),
    (552, "Message size exceeds fixed maximum message size", SENDER),
    (550, "Sender address rejected: not owned by user", SENDER),
    (550, "Message rejected as spam", SENDER),
    (550, "No such user here", RECIPIENT),
    (551, "User not local; please try <forward@example.com>", RECIPIENT),
    (553, "Requested action not taken: mailbox name not allowed", RECIPIENT),
    (550, "<bob@spamfree.example>: no such user", RECIPIENT),
    (550, "5.5.0 Requested action not taken: mailbox unavailable", RECIPIENT),
    (550, "5.0.0 <lead@example.com>... User unknown", RECIPIENT),
    (550, "Requested action not taken", SENDER),
    (554, "Message rejected: Email address is not verified", SENDER),
    (500, "Syntax error, command unrecognized", SENDER),
    (354, "Start mail input", RETRY),
]


@pytest.mark.parametrize(("code", "text", "outcome"), ROWS)
def test_each_reply_maps_to_its_outcome(code: int, text: str, outcome: Outcome) -> None:
    assert classify(code, text).outcome is outcome


def test_delivery_carries_the_servers_reply_code_and_enhanced_status() -> None:
    delivery = classify(550, "5.1.1 <gone@example.com>: no such user")
    assert delivery.reason == "550 5.1.1 <gone@example.com>: no such user"
    assert (delivery.code, delivery.enhanced) == (550, "5.1.1")


def test_multiline_reply_becomes_one_line() -> None:
    text = "5.1.1 The email account does not exist.\n5.1.1 Please try double-checking."
    delivery = classify(550, text)
    assert delivery.reason == (
        "550 5.1.1 The email account does not exist. 5.1.1 Please try double-checking."
    )
    assert delivery.outcome is RECIPIENT


def test_reply_without_enhanced_status_has_none() -> None:
    delivery = classify(550, "No such user here")
    assert delivery.enhanced is None
    assert delivery.reason == "550 No such user here"


@pytest.mark.parametrize(
    ("code", "text", "expected"),
    [
        (550, "5.1.1 no such user", "5.1.1"),
        (451, "  4.3.0 try later", "4.3.0"),
        (550, "4.2.2 mailbox full", None),  # the class must agree with the basic code
        (550, "5.1.1x no such user", None),
        (550, "no such user 5.1.1", None),  # RFC 3463 puts it first
        (550, "5.1234.1 nonsense", None),
    ],
)
def test_enhanced_status_is_read_from_the_start_of_the_text(
    code: int, text: str, expected: str | None
) -> None:
    assert enhanced_status(code, text) == expected


def test_mismatched_enhanced_class_falls_back_to_the_basic_code() -> None:
    assert classify(550, "4.2.2 mailbox full").outcome is RECIPIENT
