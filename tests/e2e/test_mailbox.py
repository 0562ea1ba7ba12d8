"""The running daemon polls the [imap] mailbox (a real Dovecot on loopback): a reply to an
email it sent stops the lead's sequence, and the message is flagged so it is handled once."""

from __future__ import annotations

from tests.dovecot import Dovecot
from tests.e2e.harness import PATIENCE, Site, until


def test_the_daemon_polls_the_mailbox_and_a_reply_stops_the_sequence(
        sqlite_site: Site, dovecot: Dovecot) -> None:
    site = sqlite_site
    site.write("sequences/prospecting/welcome.toml",
               'id = "welcome"\nstage = "prospecting"\n'
               'send_window = { days = "mon-sun", from = "00:00", to = "24:00" }\n'
               'stop_on = ["replied"]\n'
               '\n[[touch]]\nwait = "0d"\ntemplate = "note.md.j2"\nsubject = "Hello"\n'
               '\n[[touch]]\nwait = "3d"\ntemplate = "note.md.j2"\nsubject = "Again"\n')
    [lead] = site.seed(1)
    site.start(imap__enabled="true", imap__host=dovecot.host, imap__port=dovecot.port,
               imap__security="none", imap__username=dovecot.username,
               imap__password=dovecot.password, imap__poll_seconds=0.3)
    until(lambda: len(site.sink.messages) == 1, PATIENCE, "the first touch sent")
    sent = site.sink.messages[0].parsed()
    reply = (f"From: {sent['To']}\r\nTo: {sent['From']}\r\nSubject: Re: {sent['Subject']}\r\n"
             f"Message-ID: <reply-1@example.com>\r\nIn-Reply-To: {sent['Message-ID']}\r\n"
             f"References: {sent['Message-ID']}\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
             "Content-Type: text/plain; charset=utf-8\r\n\r\n"
             "Thanks, can we talk on Thursday?\r\n").encode()
    uid = dovecot.deliver(reply)

    def stopped() -> bool:
        return site.enrollments() == {"stopped": 1}

    until(stopped, PATIENCE, "the enrollment stopped by the reply")
    with site.engine.connect() as connection:
        types = [row.type for row in connection.exec_driver_sql(
            f"SELECT type FROM event WHERE lead_id = {lead} ORDER BY id")]
    assert types.count("replied") == 1
    assert "$NurtureProcessed" in dovecot.flags(uid)
