"""The outgoing-mail port: what the daemon hands a transport and what it gets back.

A transport never raises for a mail problem (a refusal, a timeout, a full disk): it answers
with a `Delivery` whose `outcome` tells the daemon what to do next.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


class Outcome(enum.Enum):
    """What happened to a message, from the daemon's point of view."""

    SENT = "sent"  # accepted by the next hop (or written to the Maildir)
    RETRY = "retry"  # temporary: try again later, nobody is to blame yet
    RECIPIENT_REJECTED = "recipient_rejected"  # hard bounce: the address is bad
    SENDER_REJECTED = "sender_rejected"  # our fault (auth, policy, size): pause sending


@dataclass(frozen=True)
class Envelope:
    """One SMTP transaction: the return path, the recipients and the finished message."""

    mail_from: str  # the return path (bounce address); "" is the null sender <>
    recipients: tuple[str, ...]
    message: bytes  # a complete RFC 5322 message, CRLF or LF line endings
    message_id: str

    def __post_init__(self) -> None:
        if not self.recipients:
            raise ValueError(f"envelope of message {self.message_id} has no recipients")
        for address in (self.mail_from, *self.recipients):
            if "\r" in address or "\n" in address:
                raise ValueError(f"envelope address {address!r} contains a line break")


@dataclass(frozen=True)
class Delivery:
    """A transport's answer: the outcome and, for people, the server's own words."""

    outcome: Outcome
    reason: str  # human readable, with the server's reply: "550 5.1.1 <x@y>: no such user"
    code: int | None = None
    enhanced: str | None = None  # RFC 3463 status such as "5.1.1"


class Transport(Protocol):
    """Sends envelopes somewhere; `send` never raises for mail errors."""

    name: str

    async def send(self, envelope: Envelope) -> Delivery: ...

    async def close(self) -> None: ...


@runtime_checkable
class Checked(Transport, Protocol):
    """A transport that can tell, without sending anything, whether it can take mail now."""

    async def check(self) -> Delivery | None:
        """None when a send would reach the outbox (the server answers, the folder is
        writable); else a Delivery saying why not, as `send` would answer."""
        ...
