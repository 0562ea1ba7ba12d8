"""Hostile inbound mail: the classifier reads whatever reaches the reply mailbox (anyone can send
it anything) and the inbound webhooks. Random bytes and mutated real messages
(tests/fixtures/mail) always come back as a Classified with a kind and a reason, never an
exception, and a message built to be slow to parse is read in a bounded time."""

from __future__ import annotations

import time
from pathlib import Path
from typing import get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nurture.mail.classify import Classified, Kind, classify

FIXTURES = Path(__file__).parents[1] / "fixtures" / "mail"
MESSAGES = sorted(path.read_bytes() for path in FIXTURES.iterdir())
KINDS = set(get_args(Kind))
FUZZ = settings(max_examples=120, deadline=None)
IMAP_FETCH_BYTES = 256 * 1024  # nurture.mail.imap.MAX_FETCH_BYTES: what one poll reads at most
HEADER_LINES = [
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"x\"",
    b"Content-Type: multipart/report; report-type=feedback-report; boundary=\"\"",
    b"Content-Type: message/rfc822", b"Content-Type: text/plain; charset=\"unknown-8bit\"",
    b"Content-Transfer-Encoding: base64", b"Content-Transfer-Encoding: quoted-printable",
    b"From: MAILER-DAEMON@relay.example.com", b"From: =?utf-8?b?////?= <a@b>",
    b"From: \"unterminated <a@b", b"Subject: =?utf-8?q?=FF=FE?=", b"Subject: Re: unsubscribe",
    b"Auto-Submitted: auto-replied", b"Date: Mon, 99 Foo 2026 25:61:00 +9999",
    b"In-Reply-To: <" + b"a" * 500 + b"@x>", b"References: <1.2.abc@x> <<<>>>",
    b"To: x+1.2.0123456789ab@relay.example.com", b"Status: 5.1.1", b"Action: failed",
    b"Final-Recipient: rfc822;", b"Diagnostic-Code: smtp; 550 5.1.1 " + "é".encode() * 50,
]


def mutate(raw: bytes, data: st.DataObject) -> bytes:
    """One to four random edits of a message's bytes."""
    lines = raw.split(b"\n")
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(lines) - 1))
        edit = data.draw(st.sampled_from(["flip", "cut", "delete", "duplicate", "header",
                                          "random", "truncate"]))
        line = lines[index]
        if edit == "flip" and line:
            at = data.draw(st.integers(0, len(line) - 1))
            line = line[:at] + bytes([data.draw(st.integers(0, 255))]) + line[at + 1:]
            lines[index] = line
        elif edit == "cut":
            lines[index] = line[: data.draw(st.integers(0, len(line)))]
        elif edit == "delete" and len(lines) > 1:
            del lines[index]
        elif edit == "duplicate":
            lines.insert(index, line)
        elif edit == "header":
            lines.insert(index, data.draw(st.sampled_from(HEADER_LINES)))
        elif edit == "random":
            lines.insert(index, data.draw(st.binary(max_size=80)))
        elif edit == "truncate":
            lines = lines[: index + 1]
    return b"\n".join(lines)


def check(raw: bytes) -> Classified:
    classified = classify(raw)
    assert classified.kind in KINDS
    assert classified.reason.strip()
    assert classified.key
    assert len(classified.snippet) <= 500
    return classified


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes_are_classified_never_raised(raw: bytes) -> None:
    check(raw)


@FUZZ
@given(st.sampled_from(MESSAGES), st.data())
def test_mutated_real_messages_are_classified_never_raised(raw: bytes, data: st.DataObject
                                                          ) -> None:
    check(mutate(raw, data))
    check(mutate(raw.replace(b"\n", b"\r\n"), data))


@pytest.mark.parametrize("raw", [
    b"From: a@example.com\r\n" + b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (n, n)
        for n in range(2000)),
    b"".join(b"X-Header-%d: v\r\n" % n for n in range(10_000)) + b"From: a@example.com\r\n\r\nx",
    b"From: a@example.com\r\nSubject: hi\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    + b"!!!!" * 60_000,
], ids=["nested-multipart", "many-headers", "broken-base64"])
def test_pathological_structures_are_classified(raw: bytes) -> None:
    check(raw)


@pytest.mark.parametrize("field", [
    b"Subject: " + b"=?utf-8?q?a?= " * 20_000,
    b"To: " + b"<x@example.com>," * 17_000,
    b"Subject: " + b"Re: " * 65_000 + b"unsubscribe",
], ids=["encoded-words", "address-list", "re-chain"])
def test_a_huge_header_is_read_in_bounded_time(field: bytes) -> None:
    """The email package parses some headers in quadratic time; classify runs in the
    daemon's loop for every message a stranger can send to the reply mailbox, so a
    header as large as one IMAP fetch must not hold it for seconds."""
    raw = (b"From: a@example.com\r\n" + field + b"\r\nSubject: x\r\n\r\nhello\r\n")
    raw = raw[:IMAP_FETCH_BYTES]
    started = time.perf_counter()
    check(raw)
    assert time.perf_counter() - started < 2.0
