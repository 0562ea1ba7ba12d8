"""SMTP transport: a small pool of reused aiosmtplib connections.

Each send takes an idle connection (or opens one, never more than `pool_size` at a time),
runs one mail transaction and gives the connection back only while it is healthy. An idle
connection is reused without a round trip to check it: if the server dropped it meanwhile,
the first command (MAIL FROM, before any of the message went out) fails and the send goes
again over a new connection, so a drop costs one reconnect, not a failed send. Refusals go
through `status.classify`; network trouble and timeouts are RETRY, with a reason a person
can act on. `check()` tells the dispatcher, before it commits a chunk to sending, whether the
server can be reached at all (engine/outage.py).

The transaction is run command by command rather than through `SMTP.sendmail`, which parses
every address twice more and normalizes the whole message once more per send — a fifth of
the CPU a send costs on loopback, where a dispatch tick spends most of its time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import ssl
from dataclasses import replace
from typing import Literal

from aiosmtplib import (
    SMTP,
    SMTPException,
    SMTPHeloError,
    SMTPNotSupported,
    SMTPRecipientRefused,
    SMTPRecipientsRefused,
    SMTPResponse,
    SMTPResponseException,
    SMTPSenderRefused,
)
from aiosmtplib.email import parse_address

from nurture.mail.status import classify
from nurture.mail.transport import Delivery, Envelope, Outcome

Security = Literal["none", "starttls", "tls"]
# When recipients fare differently, the envelope's outcome is the first of these that occurs.
_BLAME_ORDER = (Outcome.SENDER_REJECTED, Outcome.RETRY, Outcome.RECIPIENT_REJECTED, Outcome.SENT)
log = logging.getLogger(__name__)
# A dot-atom address (RFC 5322 3.4.1) with nothing to unquote, which parse_address returns as
# is: checked with this instead of the email package's parser (13 µs an address).
_PLAIN_ADDRESS = re.compile(r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*"
                            r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*", re.ASCII)
_LINE_ENDING = re.compile(rb"\r\n|\r|\n")
_SERVICE_CLOSING = 421


class _Stale(Exception):
    """A pooled connection turned out dead at the first command: nothing was sent on it."""


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
                smtp, pooled = await self._checkout()
                try:
                    return await self._send_on(smtp, envelope, pooled)
                except _Stale:
                    log.info("smtp %s dropped an idle connection; reconnecting", self.where)
                    return await self._send_on(await self._connect(), envelope, pooled=False)
            except _CannotConnect as failure:
                return failure.delivery

    async def check(self) -> Delivery | None:
        """None when the server can be reached: a live idle connection is at hand, or one was
        opened now (and kept for the next send); else why not, as `send` would answer."""
        if self._closed:
            raise RuntimeError("SmtpTransport.check() called after close()")
        async with self._slots:
            if self._keep_live_idle():
                return None
            try:
                smtp = await self._connect()
            except _CannotConnect as failure:
                return failure.delivery
            self._checkin(smtp, healthy=True)
            return None

    async def close(self) -> None:
        """QUIT every idle connection; connections in use are closed when they come back."""
        self._closed = True
        idle = []
        while not self._idle.empty():
            idle.append(self._idle.get_nowait())
        await asyncio.gather(*(_quit(smtp) for smtp in idle))

    async def _checkout(self) -> tuple[SMTP, bool]:
        """An idle connection (True: pooled, unchecked) or a new one (False)."""
        while not self._idle.empty():
            smtp = self._idle.get_nowait()
            if smtp.is_connected:
                return smtp, True
            smtp.close()
        return await self._connect(), False

    async def _send_on(self, smtp: SMTP, envelope: Envelope, pooled: bool) -> Delivery:
        healthy = False
        try:
            delivery = await self._transact(smtp, envelope, pooled)
            healthy = smtp.is_connected
            return delivery
        finally:
            self._checkin(smtp, healthy)

    def _keep_live_idle(self) -> int:
        """Close the idle connections known to be gone; how many live ones are left."""
        live = []
        while not self._idle.empty():
            smtp = self._idle.get_nowait()
            if smtp.is_connected:
                live.append(smtp)
            else:
                smtp.close()
        for smtp in live:
            self._idle.put_nowait(smtp)
        return len(live)

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
            await _greet(smtp)
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

    async def _transact(self, smtp: SMTP, envelope: Envelope, pooled: bool) -> Delivery:
        try:
            utf8 = _needs_smtputf8(envelope)
            if utf8 and not smtp.supports_extension("smtputf8"):
                raise SMTPNotSupported("SMTPUTF8 is not supported by this server")
            await _mail_from(smtp, envelope, utf8, pooled)
            refused = await _rcpt_to(smtp, envelope.recipients)
            reply = (await smtp.data(envelope.message)).message
        except SMTPRecipientsRefused as exc:  # every RCPT refused
            await _reset(smtp)
            return _worst([classify(each.code, each.message) for each in exc.recipients])
        except SMTPResponseException as exc:  # MAIL FROM or DATA refused
            await _reset(smtp)
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


async def _greet(smtp: SMTP) -> None:
    """EHLO (HELO if refused) once per connection, unless connecting did it (TLS, AUTH)."""
    if not smtp.is_ehlo_or_helo_needed:
        return
    try:
        await smtp.ehlo()
    except SMTPHeloError:
        if not smtp.is_connected:
            raise
        await smtp.helo()


async def _mail_from(smtp: SMTP, envelope: Envelope, utf8: bool, pooled: bool) -> None:
    """MAIL FROM, declaring the size (RFC 1870) and SMTPUTF8 (RFC 6531) where they apply.
    On a pooled connection, a connection lost here, or a server closing it (421), is _Stale:
    nothing of the message went out, so it may go again over a new connection."""
    options = [b"SIZE=%d" % _wire_size(envelope.message)] if smtp.supports_extension("size") \
        else []
    if utf8:
        options.append(b"SMTPUTF8")
    try:
        response = await smtp.execute_command(
            b"MAIL", b"FROM:<" + envelope.mail_from.encode() + b">", *options)
    except ConnectionError as exc:
        if pooled:
            raise _Stale from exc
        raise
    if response.code == _SERVICE_CLOSING and pooled:
        smtp.close()
        raise _Stale
    if response.code != 250:
        raise SMTPSenderRefused(response.code, response.message, envelope.mail_from)


async def _rcpt_to(smtp: SMTP, recipients: tuple[str, ...]) -> dict[str, SMTPResponse]:
    """RCPT TO for each recipient; the refused ones, or SMTPRecipientsRefused if all were."""
    refused: dict[str, SMTPResponse] = {}
    for address in recipients:
        response = await smtp.execute_command(b"RCPT", b"TO:<" + address.encode() + b">")
        if response.code not in (250, 251):
            refused[address] = response
    if len(refused) == len(recipients):
        raise SMTPRecipientsRefused([SMTPRecipientRefused(r.code, r.message, address)
                                     for address, r in refused.items()])
    return refused


async def _reset(smtp: SMTP) -> None:
    """RSET after a refused transaction, so the connection can carry the next one; a
    connection that cannot be reset is closed (and so not pooled)."""
    if smtp.is_connected:
        try:
            await smtp.rset()
        except (SMTPException, OSError):
            smtp.close()


def _wire_size(message: bytes) -> int:
    """Octets of `message` as DATA sends it: CRLF line endings and a final CRLF."""
    lines = message.count(b"\r\n")
    if message.count(b"\n") == lines == message.count(b"\r"):  # CRLF throughout already
        return len(message) + (0 if message.endswith(b"\r\n") else 2)
    normalized = _LINE_ENDING.sub(b"\r\n", message)
    return len(normalized) + (0 if normalized.endswith(b"\r\n") else 2)


def _retry(reason: str) -> Delivery:
    return Delivery(Outcome.RETRY, reason)


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
        if not _is_bare(address):
            return Delivery(
                outcome, f"cannot send message {envelope.message_id}: {address!r} is not a "
                "bare email address such as lead@example.com"
            )
    return None


def _is_bare(address: str) -> bool:
    if _PLAIN_ADDRESS.fullmatch(address):
        return True
    try:
        return parse_address(address) == address
    except ValueError:
        return False


def _needs_smtputf8(envelope: Envelope) -> bool:
    return not all(address.isascii() for address in (envelope.mail_from, *envelope.recipients))


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
