"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, in a background thread.

It records every accepted message (envelope and bytes) and counts connections, and can be
told to misbehave for chosen addresses: answer with a given reply at MAIL, RCPT or DATA,
delay the DATA reply, or drop the connection. Usage:

    with SmtpSink() as sink:
        sink.answer("gone@example.com", "550 5.1.1 <gone@example.com>: no such user")
        ... send to sink.host, sink.port ...
        assert sink.messages[0].recipients == ("lead@example.com",)

Rules match an address case-insensitively; the address "*" matches every address.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from types import TracebackType
from typing import Any, Literal

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword, Session
from aiosmtpd.smtp import Envelope as ServerEnvelope

Stage = Literal["mail", "rcpt", "data"]
ANY = "*"


@dataclass(frozen=True)
class Received:
    """One accepted message, as the server saw it."""

    mail_from: str  # "" for the null sender <>
    recipients: tuple[str, ...]
    data: bytes  # CRLF line endings, dot-stuffing undone
    session: int  # 1 for the sink's first connection, 2 for the second, ...
    tls: bool  # the session was encrypted (STARTTLS or implicit TLS)
    login: str | None  # the AUTH user, if the client logged in

    def parsed(self) -> EmailMessage:
        message = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(message, EmailMessage)
        return message


@dataclass(frozen=True)
class _Rule:
    reply: str | None = None
    delay: float = 0.0
    drop: bool = False


class SmtpSink:
    """Start with `with SmtpSink() as sink:` or `start()`/`stop()`."""

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        tls_context: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        logins: Mapping[str, str] | None = None,
        smtputf8: bool = True,
    ) -> None:
        """`tls_context` offers (and requires) STARTTLS, or with `implicit_tls` wraps the
        whole connection; `logins` (user → password) requires AUTH PLAIN/LOGIN;
        `smtputf8=False` refuses non-ASCII addresses, as many servers still do."""
        self.messages: list[Received] = []
        self.sessions = 0
        self._logins = dict(logins or {})
        self._rules: dict[tuple[Stage, str], _Rule] = {}
        self._numbers: dict[SMTP, int] = {}
        self._arrived = threading.Condition()
        starttls = tls_context if not implicit_tls else None
        self._controller = _Controller(
            self,
            hostname=self.host,
            port=0,
            server_hostname="sink.test",
            ssl_context=tls_context if implicit_tls else None,
            tls_context=starttls,
            require_starttls=starttls is not None,
            authenticator=self._authenticate if logins else None,
            auth_required=bool(logins),
            auth_require_tls=starttls is not None,  # aiosmtpd cannot see implicit TLS
            enable_SMTPUTF8=smtputf8,
        )

    @property
    def port(self) -> int:
        return self._controller.port

    def start(self) -> SmtpSink:
        self._controller.start()
        self.sessions = 0  # forget the controller's own start-up probe
        self._numbers.clear()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def answer(self, address: str, reply: str, *, at: Stage = "rcpt") -> None:
        """Reply `reply` ("550 5.1.1 <x@y>: no such user") when `address` comes up at `at`;
        at "mail" the address is the sender, at "rcpt" and "data" any recipient."""
        self._update(at, address, reply=reply)

    def slow(self, address: str, seconds: float) -> None:
        """Wait `seconds` (asyncio, in the server's thread) before answering DATA; a client
        that gives up first leaves no message recorded."""
        self._update("data", address, delay=seconds)

    def drop(self, address: str, *, at: Stage = "rcpt") -> None:
        """Close the connection instead of answering when `address` comes up at `at`."""
        self._update(at, address, drop=True)

    def drop_connections(self) -> None:
        """Close every open connection now, as servers do with idle ones."""

        async def close_all() -> None:
            for server in self._numbers:
                if server.transport is not None:
                    server.transport.close()

        asyncio.run_coroutine_threadsafe(close_all(), self._controller.loop).result(timeout=5)

    def open_connections(self) -> int:
        """How many client connections the server still holds open."""
        servers = list(self._numbers)  # a copy: the server thread may add one meanwhile
        return sum(1 for server in servers if server.transport is not None)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        """Block until `count` messages arrived (for a daemon sending on its own)."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(f"expected {count} messages, got {len(self.messages)}")
            return list(self.messages)

    # aiosmtpd handler hooks (they run in the server's thread and event loop)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: ServerEnvelope, address: str,
        mail_options: list[str],
    ) -> str:
        reply = await self._misbehave(server, "mail", [address])
        if reply is not None:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: ServerEnvelope, address: str,
        rcpt_options: list[str],
    ) -> str:
        reply = await self._misbehave(server, "rcpt", [address])
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: ServerEnvelope) -> str:
        reply = await self._misbehave(server, "data", envelope.rcpt_tos)
        if reply is not None:
            return reply
        received = Received(
            mail_from="" if envelope.mail_from in (None, "<>") else envelope.mail_from,
            recipients=tuple(envelope.rcpt_tos),
            data=envelope.original_content or b"",
            session=self._numbers.get(server, 0),
            tls=server.transport is not None
            and server.transport.get_extra_info("ssl_object") is not None,
            login=_login(session),
        )
        with self._arrived:
            self.messages.append(received)
            self._arrived.notify_all()
        return f"250 2.0.0 OK: queued as {len(self.messages)}"

    def _update(self, stage: Stage, address: str, **change: Any) -> None:
        key = (stage, address.lower())
        self._rules[key] = replace(self._rules.get(key, _Rule()), **change)

    async def _misbehave(self, server: SMTP, stage: Stage, addresses: list[str]) -> str | None:
        """Apply the rules for these addresses: wait, drop, or return the reply to give."""
        names = [address.lower() for address in addresses] + [ANY]
        rules = [rule for name in names if (rule := self._rules.get((stage, name)))]
        delay = max((rule.delay for rule in rules), default=0.0)
        if delay:
            await asyncio.sleep(delay)
        if any(rule.drop for rule in rules) and server.transport is not None:
            server.transport.close()
            return "421 4.4.2 closing"  # never arrives: the connection is gone
        return next((rule.reply for rule in rules if rule.reply), None)

    def _authenticate(
        self, server: SMTP, session: Session, envelope: ServerEnvelope, mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode()
            if self._logins.get(login) == auth_data.password.decode():
                return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)

    def _opened(self, server: SMTP) -> None:
        self.sessions += 1
        self._numbers[server] = self.sessions


class _Controller(Controller):
    """aiosmtpd's Controller on a free port, telling the sink about each new connection."""

    def __init__(self, sink: SmtpSink, **kwargs: Any) -> None:
        super().__init__(sink, **kwargs)
        self.sink = sink

    def factory(self) -> SMTP:
        server = super().factory()
        self.sink._opened(server)
        return server

    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]  # port 0 picked a free one
        super()._trigger_server()


def _login(session: Session) -> str | None:
    data = session.auth_data
    return data.login.decode() if isinstance(data, LoginPassword) else None


@dataclass(frozen=True)
class TlsPair:
    """Matching TLS contexts: `server` for the sink, `client` for the code under test."""

    server: ssl.SSLContext  # a certificate for 127.0.0.1 and localhost
    client: ssl.SSLContext  # also trusts the throwaway CA that issued it

    @classmethod
    def create(cls) -> TlsPair:
        authority = trustme.CA()
        certificate = authority.issue_cert("127.0.0.1", "localhost")
        server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        certificate.configure_cert(server)
        client = ssl.create_default_context()
        authority.configure_trust(client)
        return cls(server=server, client=client)


def unused_port() -> int:
    """A loopback port nothing listens on (for "server down" tests)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
