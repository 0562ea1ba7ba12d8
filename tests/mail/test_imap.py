"""poll_mailbox against a real Dovecot on loopback (tests/dovecot.py), with the database on a
SQLite file; apply_inbound's promises on both databases are in tests/engine/test_inbound.py."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, func, select, text
from sqlmodel import Session

from nurture.core.sequences import Pipeline, Sequence
from nurture.files.loader import Project
from nurture.mail.imap import PollReport, poll_mailbox
from nurture.settings import ConfigError, ImapSettings, Settings, load_settings
from nurture.store.engine import make_engine, upgrade
from nurture.store.models import Enrollment, Event, Lead, Outbox
from tests.dovecot import Dovecot
from tests.smtp_sink import unused_port

FIXTURES = Path(__file__).parents[1] / "fixtures" / "mail"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
FLAG = "$NurtureProcessed"
PROJECT = Project(
    pipeline=Pipeline.model_validate({"stage": [{"id": "prospecting", "probability": 0.05}]}),
    sequences=[Sequence.model_validate({
        "id": "cold", "stage": "prospecting",
        "touch": [{"template": "t.md.j2", "subject": "S"}]})],
)
# Each real message, and the lead and Message-ID of the email it answers.
SENT = {
    "gmail-reply.eml": ("alice@acme.example", "<101.0.5d41402abc4b@relay.example.com>"),
    "outlook-out-of-office.eml": ("bob@globex.example", "<102.1.7d793037a076@relay.example.com>"),
    "vacation-x-autoreply.eml": ("erin@umbrella.example",
                                 "<103.0.9e107d9d372b@relay.example.com>"),
    "postfix-dsn-5.1.1.eml": ("gone@initech.example", "<104.2.e4d909c29087@relay.example.com>"),
    "exchange-ndr-5.1.10.eml": ("carol@contoso.example",
                                "<105.0.a87ff679a2f3@relay.example.com>"),
    "postfix-delayed-4.2.2.eml": ("dave@hooli.example", "<106.1.c4ca4238a0b9@relay.example.com>"),
    "arf-abuse-report.eml": ("frank@piedpiper.example",
                             "<107.0.1679091c5a88@relay.example.com>"),
    "outlook-reply-remove-me.eml": ("heidi@vandelay.example",
                                    "<108.0.8f14e45fceea@relay.example.com>"),
    "qmail-failure-notice.eml": ("ivan@stark.example", "<109.3.45c48cce2e2d@relay.example.com>"),
}
STRANGER = (b"From: Someone <someone@nowhere.example>\nTo: hello@relay.example.com\n"
            b"Subject: Hello\nMessage-ID: <stranger-1@nowhere.example>\n\nWho are you?\n")


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    server = Dovecot.start()
    yield server
    server.stop()


@pytest.fixture
def folder() -> str:
    """A mailbox folder of this test's own: the server is shared by the module's tests."""
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'nurture.db'}")
    upgrade(engine)
    with Session(engine) as session:
        for email, message_id in SENT.values():
            lead = Lead(email=email, stage="prospecting", stage_entered_at=NOW,
                        created_at=NOW, updated_at=NOW)
            session.add(lead)
            session.flush()
            assert lead.id is not None
            enrollment = Enrollment(lead_id=lead.id, sequence_id="cold", stage="prospecting",
                                    stage_entered_at=NOW, position=1, created_at=NOW,
                                    updated_at=NOW, next_touch_at=NOW + timedelta(days=1))
            session.add(enrollment)
            session.flush()
            assert enrollment.id is not None
            session.add(Outbox(enrollment_id=enrollment.id, touch_index=0, lead_id=lead.id,
                               message_id=message_id, subject="S", status="sent",
                               created_at=NOW, sent_at=NOW))
        session.commit()
    yield engine
    engine.dispose()


def settings(server: Dovecot, folder: str = "INBOX", **imap: Any) -> Settings:
    login = {"port": server.port, "username": server.username,
             "password": SecretStr(server.password)}
    return settings_at(folder=folder, **{**login, **imap})


def settings_at(port: int, *, folder: str = "INBOX", **imap: Any) -> Settings:
    options: dict[str, Any] = {"enabled": True, "host": "127.0.0.1", "port": port,
                               "security": "none", "username": "nurture", "folder": folder}
    return Settings(imap=ImapSettings(**{**options, **imap}))


def poll(config: Settings, engine: Engine, tls_context: ssl.SSLContext | None = None
         ) -> PollReport:
    return asyncio.run(poll_mailbox(config, engine, PROJECT, NOW, tls_context=tls_context))


def events(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(Event)).scalar_one())


def test_poll_handles_every_message_once_and_flags_it(dovecot: Dovecot, folder: str,
                                                      store: Engine) -> None:
    uids = [dovecot.deliver((FIXTURES / name).read_bytes(), folder) for name in SENT]
    uids += [dovecot.deliver((FIXTURES / "garbage.bin").read_bytes(), folder),
             dovecot.deliver(STRANGER, folder)]
    report = poll(settings(dovecot, folder), store)
    assert report.error is None
    assert report.found == 11
    assert report.outcomes == {"reply": 2, "auto_reply": 2, "hard_bounce": 3, "soft_bounce": 1,
                               "complaint": 1, "ignored": 1, "unmatched": 1}
    assert events(store) == 9
    for uid in uids:
        flags = dovecot.flags(uid, folder)
        assert FLAG in flags and "\\Seen" not in flags  # a person's unread mail stays unread
    again = poll(settings(dovecot, folder), store)
    assert (again.error, again.found, again.outcomes) == (None, 0, {})
    assert events(store) == 9


def test_message_handled_again_after_a_crash_is_not_recorded_twice(
        dovecot: Dovecot, folder: str, store: Engine) -> None:
    uid = dovecot.deliver((FIXTURES / "gmail-reply.eml").read_bytes(), folder)
    assert poll(settings(dovecot, folder), store).outcomes == {"reply": 1}
    with dovecot.session() as imap:  # as if the poller died between the commit and the STORE
        imap.select(folder)
        imap.uid("STORE", str(uid), "-FLAGS", f"({FLAG})")
    assert poll(settings(dovecot, folder), store).outcomes == {"duplicate": 1}
    assert events(store) == 1
    assert FLAG in dovecot.flags(uid, folder)


def test_message_that_cannot_be_recorded_stays_unflagged_and_is_tried_again(
        dovecot: Dovecot, folder: str, store: Engine, caplog: pytest.LogCaptureFixture) -> None:
    complaint = dovecot.deliver((FIXTURES / "arf-abuse-report.eml").read_bytes(), folder)
    reply = dovecot.deliver((FIXTURES / "gmail-reply.eml").read_bytes(), folder)
    with store.begin() as connection:  # a real database failure, for complaints only
        connection.execute(text(
            "CREATE TRIGGER no_complaints BEFORE INSERT ON event WHEN NEW.type = 'complained' "
            "BEGIN SELECT RAISE(ABORT, 'complaints are broken today'); END"))
    with caplog.at_level(logging.ERROR, logger="nurture.imap"):
        report = poll(settings(dovecot, folder), store)
    assert report.outcomes == {"failed": 1, "reply": 1}
    assert f"message UID {complaint}" in caplog.text
    assert FLAG not in dovecot.flags(complaint, folder)
    assert FLAG in dovecot.flags(reply, folder)
    with store.begin() as connection:
        connection.execute(text("DROP TRIGGER no_complaints"))
    assert poll(settings(dovecot, folder), store).outcomes == {"complaint": 1}
    assert FLAG in dovecot.flags(complaint, folder)


def test_processed_messages_can_be_marked_seen_and_moved(dovecot: Dovecot, folder: str,
                                                         store: Engine) -> None:
    for name in ("gmail-reply.eml", "postfix-dsn-5.1.1.eml"):
        dovecot.deliver((FIXTURES / name).read_bytes(), folder)
    done = f"{folder}-done"
    report = poll(settings(dovecot, folder, mark_seen=True, processed_folder=done), store)
    assert report.outcomes == {"reply": 1, "hard_bounce": 1}
    assert dovecot.uids(folder) == []
    moved = dovecot.uids(done)
    assert len(moved) == 2
    assert all({FLAG, "\\Seen"} <= dovecot.flags(uid, done) for uid in moved)


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_encrypted_connections_work(dovecot: Dovecot, folder: str, store: Engine,
                                    security: str) -> None:
    dovecot.deliver((FIXTURES / "gmail-reply.eml").read_bytes(), folder)
    port = dovecot.tls_port if security == "tls" else dovecot.port
    config = settings(dovecot, folder, security=security, port=port)
    report = poll(config, store, tls_context=dovecot.client_context)
    assert (report.error, report.outcomes) == (None, {"reply": 1})


def test_untrusted_certificate_is_reported_not_raised(dovecot: Dovecot, store: Engine) -> None:
    report = poll(settings(dovecot, security="tls", port=dovecot.tls_port), store)
    assert report.error is not None
    assert report.error.startswith(f"cannot reach the IMAP server 127.0.0.1:{dovecot.tls_port}:")
    assert "certificate verify failed" in report.error


def test_wrong_password_is_reported_not_raised(dovecot: Dovecot, store: Engine) -> None:
    report = poll(settings(dovecot, password=SecretStr("wrong")), store)
    assert report.error is not None
    assert f"IMAP server 127.0.0.1:{dovecot.port}: LOGIN as 'nurture' refused: NO" in report.error


def test_missing_folder_is_reported_not_raised(dovecot: Dovecot, store: Engine) -> None:
    report = poll(settings(dovecot, "No Such Folder"), store)
    assert report.error is not None
    assert "SELECT 'No Such Folder' refused: NO" in report.error


def test_unreachable_server_gives_one_clear_log_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    port = unused_port()
    config = settings_at(port)
    with caplog.at_level(logging.INFO):
        report = poll(config, make_engine(f"sqlite:///{tmp_path / 'n.db'}"))
    assert report.error is not None
    assert report.error.startswith(f"cannot reach the IMAP server 127.0.0.1:{port}: ")
    assert str(report) == f"failed: {report.error}"
    [line] = [r for r in caplog.records if r.name.startswith("nurture")]
    assert (line.levelname, line.getMessage()) == ("WARNING",
                                                   f"mailbox not polled: {report.error}")


def test_server_that_never_answers_times_out(tmp_path: Path) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        config = settings_at(silent.getsockname()[1], timeout_seconds=0.3)
        report = poll(config, make_engine(f"sqlite:///{tmp_path / 'n.db'}"))
    assert report.error == (f"cannot reach the IMAP server 127.0.0.1:{config.imap.port}: "
                            "no answer within 0.3 s")


def test_enabled_mailbox_without_a_username_is_a_configuration_error(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[imap]\nenabled = true\nhost = "imap.example.com"\n')
    with pytest.raises(ConfigError, match=r"imap.enabled = true needs imap.username"):
        load_settings(config)
