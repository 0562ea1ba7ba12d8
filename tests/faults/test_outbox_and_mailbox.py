"""The Maildir outbox cannot be written, the IMAP server cannot be reached: the daemon keeps
running, logs the cause once, loses nothing, and catches up when the fault clears."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.dovecot import Dovecot
from tests.e2e.harness import PATIENCE, Site, received_message_ids, until
from tests.faults.clocked import SharedClock
from tests.faults.harness import (
    catch_up,
    dispatched,
    job_errors,
    lines_with,
    outbox_attempts,
    ride_out,
    start,
)
from tests.faults.relay import Relay
from tests.faults.test_smtp import LONG_OUTAGE
from tests.smtp_sink import unused_port

TOUCHES = 200
TWO_TOUCHES = ('id = "welcome"\nstage = "prospecting"\n'
               'send_window = { days = "mon-sun", from = "00:00", to = "24:00" }\n'
               'stop_on = ["replied"]\n'
               '\n[[touch]]\nwait = "0d"\ntemplate = "note.md.j2"\nsubject = "Hello"\n'
               '\n[[touch]]\nwait = "3d"\ntemplate = "note.md.j2"\nsubject = "Again"\n')


@contextmanager
def unwritable(folder: Path) -> Iterator[None]:
    """No file can be created in `folder` until the block ends: its mode for a normal user,
    the immutable attribute for root (whom modes do not stop)."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(folder)], check=False).returncode:
        pytest.skip("running as root on a file system without the immutable attribute "
                    "(chattr +i): nothing can make a folder unwritable for root")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(folder)], check=True)


def test_maildir_outbox_not_writable(sqlite_site: Site, clock: SharedClock) -> None:
    site = sqlite_site
    site.seed(TOUCHES)
    maildir = site.root / "outbox"
    for folder in ("tmp", "new", "cur"):
        (maildir / folder).mkdir(parents=True)
    with unwritable(maildir / "tmp"):
        daemon = start(site, clock, outbox="maildir", maildir=maildir)
        dispatched(daemon)
        ride_out(clock, daemon, LONG_OUTAGE)
        assert list((maildir / "new").iterdir()) == []
        assert set(site.outbox_statuses()) == {"deferred"}
        assert outbox_attempts(site) == {0: TOUCHES}
        [line] = lines_with(daemon, "cannot write to Maildir")
        assert "ERROR" in line and str(maildir / "tmp") in line
    catch_up(site, clock, daemon, TOUCHES)
    written = received_message_ids(path.read_bytes() for path in (maildir / "new").iterdir())
    assert len(written) == TOUCHES and set(written.values()) == {1}
    assert site.outbox_statuses() == {"sent": TOUCHES}
    assert len(lines_with(daemon, "sending again")) == 1
    assert daemon.is_running() and "Traceback" not in daemon.log


def test_imap_server_unreachable(sqlite_site: Site, clock: SharedClock,
                                 dovecot: Dovecot) -> None:
    site = sqlite_site
    site.write("sequences/prospecting/welcome.toml", TWO_TOUCHES)
    leads = 20
    site.seed(leads)
    port = unused_port()
    with Relay(dovecot.host, dovecot.port) as relay:  # down: nothing answers on its port
        daemon = start(site, clock, http_port=port, imap__enabled="true",
                       imap__host=relay.host, imap__port=relay.port, imap__security="none",
                       imap__username=dovecot.username, imap__password=dovecot.password,
                       imap__poll_seconds=0.2)
        until(lambda: len(site.sink.messages) == leads, PATIENCE, "the first touches sent")
        until(lambda: job_errors(port, "mailbox") >= 5, PATIENCE, "five polls failing")
        [line] = lines_with(daemon, "mailbox not polled")
        assert f"cannot reach the IMAP server {relay.host}:{relay.port}" in line
        sent = site.sink.messages[3].parsed()
        dovecot.deliver(reply_to(sent))
        relay.up()
        until(lambda: site.enrollments() == {"stopped": 1, "active": leads - 1}, PATIENCE,
              "the reply read once the server is back")
        daemon.wait_for_log("working again")
        assert len(lines_with(daemon, "mailbox not polled")) == 1
        assert len(lines_with(daemon, "working again")) == 1
        assert daemon.is_running() and "Traceback" not in daemon.log
    assert set(site.received_ids().values()) == {1} and len(site.sink.messages) == leads


def reply_to(sent: EmailMessage) -> bytes:
    """A person's reply to `sent`, threaded to it."""
    return (f"From: {sent['To']}\r\nTo: {sent['From']}\r\nSubject: Re: {sent['Subject']}\r\n"
            f"Message-ID: <reply-1@example.com>\r\nIn-Reply-To: {sent['Message-ID']}\r\n"
            f"References: {sent['Message-ID']}\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\nThanks, let's talk on Thursday.\r\n"
            ).encode()
