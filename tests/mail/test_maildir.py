"""MaildirTransport writes files a mail client can read, and reports failures as RETRY."""

from __future__ import annotations

import asyncio
import email
from email import policy
from pathlib import Path

from nurture.mail.maildir import MaildirTransport, unique_name
from nurture.mail.transport import Delivery, Envelope, Outcome

MESSAGE = (
    b"From: Sales <sales@example.com>\r\n"
    b"To: lead@example.com\r\n"
    b"Subject: Hello there\r\n"
    b"Message-ID: <1@example.com>\r\n"
    b"\r\n"
    b"Hi,\r\nbye\r\n"
)
ENVELOPE = Envelope("bounces@example.com", ("lead@example.com",), MESSAGE, "<1@example.com>")


def send(path: Path, *envelopes: Envelope) -> list[Delivery]:
    transport = MaildirTransport(path)

    async def run() -> list[Delivery]:
        try:
            return [await transport.send(each) for each in envelopes]
        finally:
            await transport.close()

    return asyncio.run(run())


def test_message_lands_in_new_and_parses(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    [delivery] = send(outbox, ENVELOPE)
    [file] = (outbox / "new").iterdir()
    assert delivery == Delivery(Outcome.SENT, f"written to {file}")
    assert list((outbox / "tmp").iterdir()) == []
    assert (outbox / "cur").is_dir()
    parsed = email.message_from_bytes(file.read_bytes(), policy=policy.default)
    assert parsed["Subject"] == "Hello there"
    assert parsed["Return-Path"] == "<bounces@example.com>"
    assert parsed["Delivered-To"] == "lead@example.com"
    assert parsed.get_content() == "Hi,\nbye\n"


def test_file_uses_lf_line_endings_and_keeps_the_message(tmp_path: Path) -> None:
    send(tmp_path, ENVELOPE)
    [file] = (tmp_path / "new").iterdir()
    content = file.read_bytes()
    assert b"\r" not in content
    assert content.endswith(MESSAGE.replace(b"\r\n", b"\n"))


def test_every_message_gets_its_own_file(tmp_path: Path) -> None:
    deliveries = send(tmp_path, *[ENVELOPE] * 3)
    assert [d.outcome for d in deliveries] == [Outcome.SENT] * 3
    assert len(list((tmp_path / "new").iterdir())) == 3


def test_unwritable_maildir_is_retry_not_an_exception(tmp_path: Path) -> None:
    blocker = tmp_path / "outbox"
    blocker.write_text("a file where the Maildir should be")
    [delivery] = send(blocker, ENVELOPE)
    assert delivery.outcome is Outcome.RETRY
    assert delivery.reason.startswith(f"cannot write message <1@example.com> to Maildir {blocker}")
    assert delivery.reason.endswith("it must be a writable directory")


def test_unique_name_follows_the_maildir_spec() -> None:
    name = unique_name(1_700_000_000.25, 42, 7, "mail/host:1")
    assert name == r"1700000000.M250000P42Q7.mail\057host\0721"
