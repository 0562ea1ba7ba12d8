"""Build the outbox the settings ask for: `outbox = "maildir"` (the default) or `"smtp"`."""

from __future__ import annotations

from nurture.mail.maildir import MaildirTransport
from nurture.mail.smtp import SmtpTransport
from nurture.mail.transport import Transport
from nurture.settings import Settings


def build_transport(settings: Settings) -> Transport:
    """A MaildirTransport on `settings.maildir`, or an SmtpTransport from `[smtp]`."""
    if settings.outbox == "maildir":
        return MaildirTransport(settings.maildir)
    smtp = settings.smtp
    return SmtpTransport(
        smtp.host,
        smtp.port,
        smtp.security,
        smtp.username,
        smtp.password.get_secret_value() if smtp.password else None,
        timeout=smtp.timeout_seconds,
        pool_size=smtp.pool_size,
    )
