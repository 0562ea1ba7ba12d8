"""build_transport picks and configures the outbox the settings ask for."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from nurture.mail.build import build_transport
from nurture.mail.maildir import MaildirTransport
from nurture.mail.smtp import SmtpTransport
from nurture.settings import Settings, SmtpSettings


def test_settings_choose_the_maildir_by_default() -> None:
    transport = build_transport(Settings(maildir=Path("out")))
    assert isinstance(transport, MaildirTransport)
    assert transport.path == Path("out")


def test_settings_configure_the_smtp_transport() -> None:
    smtp = SmtpSettings(host="smtp.example.com", port=587, security="starttls",
                        username="u", password=SecretStr("p"), timeout_seconds=5)
    transport = build_transport(Settings(outbox="smtp", smtp=smtp))
    assert isinstance(transport, SmtpTransport)
    assert (transport.where, transport.security, transport.timeout) == (
        "smtp.example.com:587", "starttls", 5
    )
