"""Polling the reply mailbox over IMAP (aioimaplib): fetch the messages not handled yet, classify
and apply each in its own database transaction, then mark them on the server — only after the
commit, so a crash makes a message be handled again (harmless: applying is idempotent) rather
than lost.

One poll: connect (implicit TLS, STARTTLS or plain), LOGIN, SELECT the folder, UID SEARCH
UNKEYWORD <processed_flag> — not UNSEEN: a person reading the same mailbox must not hide a
reply from us — then, in batches, UID FETCH BODY.PEEK[] (PEEK leaves \\Seen as it is) of each
message's first MAX_FETCH_BYTES, and UID STORE +FLAGS the keyword (and \\Seen with mark_seen),
then UID MOVE to processed_folder when one is set. A server that cannot be reached or refuses
a step gives a PollReport with the error, and one log line; never an exception.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from aioimaplib import IMAP4, IMAP4_SSL, AioImapException, Command, Response, quoted
from sqlalchemy import Engine

from nurture.engine.inbound import Applied, apply_inbound
from nurture.files.loader import Project
from nurture.logs import Repeats
from nurture.mail.classify import Classified, classify
from nurture.settings import ImapSettings, Settings
from nurture.store.engine import writing

log = logging.getLogger("nurture.imap")
FETCH_BATCH = 25
MAX_MESSAGES_PER_POLL = 500  # the rest wait for the next poll, so one poll stays short
MAX_FETCH_BYTES = 256 * 1024  # any reply or report fits; a returned 20 MB attachment need not
_FETCH_START = re.compile(rb"^\d+ FETCH \(")
_UID = re.compile(rb"\bUID (\d+)")
_NETWORK_ERRORS = (OSError, TimeoutError, AioImapException)
T = TypeVar("T")


class ImapError(Exception):
    """The server refused a step; the message names the step and gives the server's words."""


@dataclass
class PollReport:
    """What one poll did: messages waiting, what became of them, or why it failed."""

    found: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    error: str | None = None

    def __str__(self) -> str:
        if self.error:
            return f"failed: {self.error}"
        parts = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))
        return f"found {self.found}" + (f": {parts}" if parts else "")


async def poll_mailbox(settings: Settings, engine: Engine, project: Project, now: datetime,
                       *, tls_context: ssl.SSLContext | None = None,
                       repeats: Repeats | None = None) -> PollReport:
    """Handle every new message in the [imap] mailbox once; `tls_context` overrides the
    system's trusted certificates (tests, private CAs). With `repeats` (the daemon, polling
    again and again) a failure is logged once per cause, not once per poll."""
    config = settings.imap
    report = PollReport()
    where = f"{config.host}:{config.port}"
    context = tls_context or ssl.create_default_context()
    client: IMAP4 = (IMAP4_SSL(config.host, config.port, timeout=config.timeout_seconds,
                               ssl_context=context) if config.security == "tls"
                     else IMAP4(config.host, config.port, timeout=config.timeout_seconds))
    connected = False
    try:
        await _log_in(client, config, context)
        connected = True
        await _poll(client, config, engine, project, now, report)
    except ImapError as exc:
        report.error = f"IMAP server {where}: {exc}"
    except _NETWORK_ERRORS as exc:
        trouble = _describe(exc, config.timeout_seconds)
        report.error = (f"IMAP server {where}: connection lost: {trouble}" if connected
                        else f"cannot reach the IMAP server {where}: {trouble}")
    finally:
        await _close(client)
    if report.error and repeats is None:
        log.warning("mailbox not polled: %s", report.error)
    elif report.error and repeats is not None:
        repeats.failed("imap", report.error, "mailbox not polled: %s (not logged again until "
                       "a poll works)", report.error, level=logging.WARNING)
    elif repeats is not None:
        repeats.worked("imap")
    return report


async def _log_in(client: IMAP4, config: ImapSettings, context: ssl.SSLContext) -> None:
    await client.wait_hello_from_server()
    if config.security == "starttls":
        await _starttls(client, config.host, context)
    if client.has_capability("LOGINDISABLED"):
        raise ImapError('the server refuses LOGIN without TLS: set imap.security to "starttls" '
                        'or "tls"')
    response = await client.login(config.username, config.password.get_secret_value())
    _expect_ok(response, f"LOGIN as {config.username!r}")


async def _starttls(client: IMAP4, host: str, context: ssl.SSLContext) -> None:
    """STARTTLS (RFC 3501 6.2.1), which aioimaplib lacks: send the command, upgrade the
    connection in place, then ask for the capabilities again (they change after TLS)."""
    protocol = client.protocol
    if not client.has_capability("STARTTLS"):
        raise ImapError('the server does not offer STARTTLS: set imap.security to "tls" '
                        '(usually port 993) or "none"')
    command = Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
    _expect_ok(await _within(client, protocol.execute(command)), "STARTTLS")
    loop = asyncio.get_running_loop()
    protocol.transport = await _within(client, loop.start_tls(
        protocol.transport, protocol, context, server_hostname=host))
    await _within(client, protocol.capability())


async def _poll(client: IMAP4, config: ImapSettings, engine: Engine, project: Project,
                now: datetime, report: PollReport) -> None:
    _expect_ok(await client.select(quoted(config.folder)), f"SELECT {config.folder!r}")
    if config.processed_folder:
        if not client.has_capability("MOVE"):
            raise ImapError("the server cannot MOVE (RFC 6851) messages to "
                            "imap.processed_folder; unset it to only flag them")
        await client.create(quoted(config.processed_folder))  # NO when it exists: fine
    found = await client.uid_search("UNKEYWORD", config.processed_flag, charset=None)
    _expect_ok(found, "UID SEARCH")
    uids = [int(n) for line in found.lines[:-1] for n in line.split() if n.isdigit()]
    report.found = len(uids)
    uids = sorted(uids)[:MAX_MESSAGES_PER_POLL]
    for start in range(0, len(uids), FETCH_BATCH):
        batch = ",".join(str(uid) for uid in uids[start:start + FETCH_BATCH])
        fetched = await client.uid("fetch", batch, f"(UID BODY.PEEK[]<0.{MAX_FETCH_BYTES}>)")
        _expect_ok(fetched, "UID FETCH")
        handled = [uid for uid, raw in _messages(fetched.lines).items()
                   if _handle(uid, raw, config, engine, project, now, report)]
        if handled:
            await _mark(client, config, ",".join(str(uid) for uid in handled))


def _handle(uid: int, raw: bytes, config: ImapSettings, engine: Engine, project: Project,
            now: datetime, report: PollReport) -> bool:
    """Classify and apply one message in its own transaction; True once it is committed."""
    classified = classify(raw)
    try:
        with writing(engine) as connection:
            applied = apply_inbound(connection, project, classified, now,
                                    soft_bounce_limit=config.soft_bounce_limit)
    except Exception:  # one bad message must not stop the others; it is tried at the next poll
        log.exception("message UID %s (%s) not recorded; trying again at the next poll", uid,
                      classified.key)
        report.outcomes["failed"] += 1
        return False
    report.outcomes[classified.kind if applied.outcome == "recorded" else applied.outcome] += 1
    _log_outcome(uid, classified, applied)
    return True


def _log_outcome(uid: int, classified: Classified, applied: Applied) -> None:
    what = f"message UID {uid}, {classified.kind} from {classified.sender or 'nobody'}"
    if applied.outcome == "recorded":
        log.info("%s: recorded for lead %s (%s)", what, applied.lead_id, classified.reason)
    elif applied.outcome == "unmatched":
        log.info("%s: matches no email we sent (about %s); marked as processed", what,
                 classified.original_recipient or "no known address")
    elif applied.outcome == "ignored":
        log.info("%s: nothing to record (%s); marked as processed", what, classified.reason)
    else:
        log.info("%s: already recorded (%s)", what, classified.key)


async def _mark(client: IMAP4, config: ImapSettings, uid_set: str) -> None:
    flags = config.processed_flag + (" \\Seen" if config.mark_seen else "")
    stored = await _within(client, client.uid("store", uid_set, "+FLAGS.SILENT", f"({flags})"))
    _expect_ok(stored, "UID STORE")
    if config.processed_folder:
        moved = await _within(client, client.uid("move", uid_set, quoted(config.processed_folder)))
        _expect_ok(moved, f"UID MOVE to {config.processed_folder!r}")


def _messages(lines: list[bytes | bytearray]) -> dict[int, bytes]:
    """UID → message bytes from a UID FETCH answer; the UID may come before or after the
    literal, as the server likes."""
    found: dict[int, bytes] = {}
    uid: int | None = None
    literal: bytes | None = None
    for line in [*lines, b"0 FETCH ("]:  # a sentinel start closes the last message
        if isinstance(line, bytearray):
            literal = bytes(line)
            continue
        if _FETCH_START.match(line):
            if uid is not None and literal is not None:
                found[uid] = literal
            uid, literal = None, None
        number = _UID.search(line)
        if number:
            uid = int(number.group(1))
    return found


async def _close(client: IMAP4) -> None:
    """Log out politely when logged in, and close the connection in any case."""
    protocol = client.protocol
    try:
        if protocol.state in ("NONAUTH", "AUTH", "SELECTED"):
            await client.logout()
    except _NETWORK_ERRORS:
        pass  # the connection is going away either way
    finally:
        if protocol.transport is not None and not protocol.transport.is_closing():
            protocol.transport.close()


async def _within(client: IMAP4, step: Awaitable[T]) -> T:
    return await asyncio.wait_for(step, client.timeout)


def _expect_ok(response: Response, step: str) -> None:
    if response.result != "OK":
        said = response.lines[-1].decode(errors="replace") if response.lines else "no answer"
        raise ImapError(f"{step} refused: {response.result} {said}")


def _describe(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s"
    return str(exc) or type(exc).__name__
