"""SMTP transport: a small pool of reused aiosmtplib connections.

Each send takes an idle connection (or opens one, never more than `pool_size` at a time),
runs one mail transaction and gives the connection back only while it is healthy. An idle
connection is checked with RSET before reuse, so a server that dropped it costs one
reconnect, not a failed send. Refusals go through `status.classify`; network trouble and
timeouts are RETRY, with a reason a person can act on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import ssl
from dataclasses import replace
from typing import Literal

from aiosmtplib import (
    SMTP,
    SMTPException,
    SMTPNotSupported,
    SMTPRecipientsRefused,
    SMTPResponseException,
)
from aiosmtplib.email import parse_address

from nurture.mail.status import classify
from nurture.mail.transport import Delivery, Envelope, Outcome

Security = Literal["none", "starttls", "tls"]
# When recipients fare differently, the envelope's outcome is the first of these that occurs.
_BLAME_ORDER = (Outcome.SENDER_REJECTED, Outcome.RETRY, Outcome.RECIPIENT_REJECTED, Outcome.SENT)
log = logging.getLogger(__name__)


class _CannotConnect(Exception):
    """Opening a session failed; `delivery` is the answer to give the caller."""

    def __init__(self, delivery: Delivery) -> None:
        super().__init__(delivery.reason)
        self.delivery = delivery


class SmtpTransport:
    """Sends through one SMTP server (a relay or an ESP's submission port)."""

    name = "smtp"

    def __init__(
        self,
        host: str,
        port: int,
        security: Security = "none",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        pool_size: int = 2,
        local_hostname: str | None = None,
        *,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if security not in ("none", "starttls", "tls"):
            raise ValueError(f"smtp security must be none, starttls or tls, not {security!r}")
        if pool_size < 1:
            raise ValueError(f"smtp pool_size must be at least 1, not {pool_size}")
        self.host, self.port, self.security, self.timeout = host, port, security, timeout
        self._username, self._password = username, password
        self._local_hostname = local_hostname
        self._tls_context = tls_context
        self._idle: asyncio.Queue[SMTP] = asyncio.Queue()
        self._slots = asyncio.Semaphore(pool_size)
        self._closed = False

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    async def send(self, envelope: Envelope) -> Delivery:
        """Run one mail transaction; refusals and network errors come back as a Delivery."""
        if self._closed:
            raise RuntimeError("SmtpTransport.send() called after close()")
        unsendable = _unsendable(envelope)
        if unsendable is not None:
            return unsendable
        async with self._slots:
            try:
                smtp = await self._checkout()
            except _CannotConnect as failure:
                return failure.delivery
            healthy = False
            try:
                delivery = await self._transact(smtp, envelope)
                healthy = smtp.is_connected
            finally:
                self._checkin(smtp, healthy)
            return delivery

    async def close(self) -> None:
        """QUIT every idle connection; connections in use are closed when they come back."""
        self._closed = True
        idle = []
        while not self._idle.empty():
            idle.append(self._idle.get_nowait())
        await asyncio.gather(*(_quit(smtp) for smtp in idle))

    async def _checkout(self) -> SMTP:
        if not self._idle.empty():
            smtp = self._idle.get_nowait()
            if await _still_open(smtp):
                return smtp
            log.info("smtp %s dropped an idle connection; reconnecting", self.where)
        return await self._connect()

    def _checkin(self, smtp: SMTP, healthy: bool) -> None:
        if healthy and not self._closed:
            self._idle.put_nowait(smtp)
        else:
            smtp.close()

    async def _connect(self) -> SMTP:
        smtp = SMTP(
            hostname=self.host,
            port=self.port,
            use_tls=self.security == "tls",
            start_tls=self.security == "starttls",
            username=self._username,
            password=self._password,
            timeout=self.timeout,
            local_hostname=self._local_hostname,
            tls_context=self._tls_context,
        )
        try:
            await smtp.connect()  # aiosmtplib closes the socket itself when this fails
        except (SMTPException, OSError) as exc:
            raise _CannotConnect(self._connect_failure(exc)) from exc
        return smtp

    def _connect_failure(self, exc: SMTPException | OSError) -> Delivery:
        if isinstance(exc, SMTPResponseException):  # greeting, EHLO or AUTH refused
            refused = classify(exc.code, exc.message)
            return replace(refused, reason=f"{self.where} refused the session: {refused.reason}")
        tls_error = exc.__cause__ if isinstance(exc.__cause__, ssl.SSLError) else exc
        if isinstance(tls_error, ssl.SSLError):  # a bad certificate does not fix itself
            return Delivery(
                Outcome.SENDER_REJECTED,
                f"TLS with {self.where} failed: {_tls_reason(tls_error)}; "
                "check smtp.security and the server's certificate",
            )
        if isinstance(exc, TimeoutError):
            return _retry(f"cannot connect to {self.where}: timed out after {self.timeout:g} s")
        if isinstance(exc, OSError):  # refused, unreachable, unknown host, dropped at once
            return _retry(f"cannot connect to {self.where}: {_network_reason(exc)}")
        return Delivery(  # no STARTTLS, no usable AUTH mechanism: configuration
            Outcome.SENDER_REJECTED,
            f"cannot use {self.where}: {exc.message}; check the smtp settings",
        )

    async def _transact(self, smtp: SMTP, envelope: Envelope) -> Delivery:
        try:
            refused, reply = await smtp.sendmail(
                envelope.mail_from,
                list(envelope.recipients),
                envelope.message,
                mail_options=_mail_options(envelope),
            )
        except SMTPRecipientsRefused as exc:  # every RCPT refused
            return _worst([classify(each.code, each.message) for each in exc.recipients])
        except SMTPResponseException as exc:  # MAIL FROM or DATA refused
            return classify(exc.code, exc.message)
        except TimeoutError:
            return _retry(
                f"timed out after {self.timeout:g} s waiting for a reply from {self.where}"
            )
        except OSError as exc:
            return _retry(f"lost the connection to {self.where}: {_network_reason(exc)}")
        except SMTPNotSupported as exc:  # non-ASCII address, server without SMTPUTF8
            blamed = any(not address.isascii() for address in envelope.recipients)
            outcome = Outcome.RECIPIENT_REJECTED if blamed else Outcome.SENDER_REJECTED
            return Delivery(outcome, f"{self.where} cannot take this address: {exc.message}")
        sent = classify(250, reply)  # aiosmtplib raises for anything but 250 after DATA
        if not refused:
            return sent
        notes = "; ".join(classify(r.code, r.message).reason for r in refused.values())
        return replace(sent, reason=f"{sent.reason} (refused: {notes})")


def _retry(reason: str) -> Delivery:
    return Delivery(Outcome.RETRY, reason)


async def _still_open(smtp: SMTP) -> bool:
    """RSET a pooled connection: True if it still works, else close it."""
    if smtp.is_connected:
        try:
            await smtp.rset()
            return True
        except (SMTPException, OSError):
            pass
    smtp.close()
    return False


async def _quit(smtp: SMTP) -> None:
    """QUIT, then drop the socket without waiting for a TLS close_notify round trip, so a
    process that exits right after close() leaves no socket behind."""
    transport = smtp.transport
    try:
        await smtp.quit()
    except (SMTPException, OSError):
        pass  # the server is going away either way
    finally:
        smtp.close()
        if isinstance(transport, asyncio.Transport):
            transport.abort()


def _unsendable(envelope: Envelope) -> Delivery | None:
    """Refuse, before talking to anyone, an address that is not a bare mailbox: aiosmtplib
    would rewrite "a@b> NOTIFY=NEVER" to a@b, or refuse "a b@c" mid-transaction."""
    checks = [(envelope.mail_from, Outcome.SENDER_REJECTED)]
    checks += [(address, Outcome.RECIPIENT_REJECTED) for address in envelope.recipients]
    for address, outcome in checks:
        try:
            bare = parse_address(address) == address
        except ValueError:
            bare = False
        if not bare:
            return Delivery(
                outcome, f"cannot send message {envelope.message_id}: {address!r} is not a "
                "bare email address such as lead@example.com"
            )
    return None


def _mail_options(envelope: Envelope) -> list[str] | None:
    addresses = (envelope.mail_from, *envelope.recipients)
    return None if all(address.isascii() for address in addresses) else ["SMTPUTF8"]


def _worst(deliveries: list[Delivery]) -> Delivery:
    """One Delivery for several refused recipients: the most serious, with every reply."""
    worst = min(deliveries, key=lambda delivery: _BLAME_ORDER.index(delivery.outcome))
    return replace(worst, reason="; ".join(delivery.reason for delivery in deliveries))


def _tls_reason(exc: ssl.SSLError) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {exc.verify_message}"
    return str(exc.reason or exc)


def _network_reason(exc: BaseException) -> str:
    """'Connection refused' rather than aiosmtplib's nested wording."""
    cause = exc.__cause__ or exc
    if isinstance(cause, socket.gaierror):
        return str(cause.strerror)
    if isinstance(cause, OSError) and cause.errno:
        return os.strerror(cause.errno)
    if isinstance(cause, SMTPException):
        return cause.message
    return str(cause) or type(cause).__name__
