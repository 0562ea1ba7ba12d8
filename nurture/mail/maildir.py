"""Maildir transport: every message becomes a file any mail client can open.

The default outbox, for trying nurture without a mail server. Delivery follows the Maildir
spec (https://cr.yp.to/proto/maildir.html): write into tmp/ under a unique name, fsync,
then rename into new/, so a reader never sees half a message.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import time
from pathlib import Path

from nurture.mail.transport import Delivery, Envelope, Outcome

_deliveries = itertools.count(1)  # the Q part of unique names, per process


class MaildirTransport:
    """Writes each envelope to `path`/new/, creating cur/, new/ and tmp/ when missing."""

    name = "maildir"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    async def send(self, envelope: Envelope) -> Delivery:
        """Deliver into the Maildir; a file-system error is RETRY, never an exception."""
        try:
            written = await asyncio.to_thread(self._deliver, envelope)
        except OSError as exc:
            return Delivery(
                Outcome.RETRY,
                f"cannot write message {envelope.message_id} to Maildir {self.path}: "
                f"{_problem(exc, self.path)}; it must be a writable directory",
            )
        return Delivery(Outcome.SENT, f"written to {written}")

    async def check(self) -> Delivery | None:
        """None when a message can be written now: the folders exist and tmp/ takes a file."""
        try:
            await asyncio.to_thread(self._probe)
        except OSError as exc:
            return Delivery(Outcome.RETRY, f"cannot write to Maildir {self.path}: "
                            f"{_problem(exc, self.path)}; it must be a writable directory")
        return None

    async def close(self) -> None:
        """Nothing to release: every send opens and closes its own file."""

    def _probe(self) -> None:
        draft = self._draft()
        try:
            os.close(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except OSError as exc:  # name the folder: the file's name is new every time
            raise OSError(exc.errno, exc.strerror, str(draft.parent)) from exc
        draft.unlink()

    def _draft(self) -> Path:
        """A new, unique path in tmp/, the folders created when missing."""
        for folder in ("tmp", "new", "cur"):
            (self.path / folder).mkdir(parents=True, exist_ok=True)
        name = unique_name(time.time(), os.getpid(), next(_deliveries), socket.gethostname())
        return self.path / "tmp" / name

    def _deliver(self, envelope: Envelope) -> Path:
        draft = self._draft()
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(maildir_bytes(envelope))
                file.flush()
                os.fsync(file.fileno())
            final = self.path / "new" / draft.name
            os.rename(draft, final)
        except BaseException:
            draft.unlink(missing_ok=True)
            raise
        return final


def unique_name(now: float, pid: int, delivery: int, hostname: str) -> str:
    """`seconds.M<microseconds>P<pid>Q<delivery>.host`, the modern form of the spec's name."""
    seconds, micro = divmod(round(now * 1_000_000), 1_000_000)
    host = hostname.replace("/", r"\057").replace(":", r"\072")  # both have meaning in names
    return f"{seconds}.M{micro}P{pid}Q{delivery}.{host}"


def maildir_bytes(envelope: Envelope) -> bytes:
    """The file's content: envelope headers as a delivery agent writes them, then the message.

    Maildir files use LF line endings, so CRLF becomes LF; Return-Path and Delivered-To
    keep the envelope visible to whoever reads the outbox.
    """
    lines = [f"Return-Path: <{envelope.mail_from}>"]
    lines += [f"Delivered-To: {recipient}" for recipient in envelope.recipients]
    head = "".join(f"{line}\n" for line in lines).encode("utf-8")
    return head + envelope.message.replace(b"\r\n", b"\n")


def _problem(exc: OSError, folder: Path) -> str:
    return f"{exc.strerror or exc} ({exc.filename or folder})"
