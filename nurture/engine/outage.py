"""When the outbox cannot take mail — the SMTP server is down, answers too slowly or refuses
everything for a while, the Maildir cannot be written — sending is held back instead of
spending every touch's attempts on it: the batch is put off, tried again after a wait that
doubles up to a cap, and the log says so once when it starts and once when mail goes out again.

What counts as the server's failure rather than the recipients': the outbox's own check fails
before a chunk is sent (`Checked.check`), or every send of a chunk of two or more fails
temporarily.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from nurture.mail.transport import Delivery, Outcome

log = logging.getLogger("nurture.dispatch")


@dataclass
class _Outage:
    reason: str  # as the first failure put it
    cause: str  # what stays the same while it lasts (see _cause)
    since: datetime
    holds: int = 0


class Holds:
    """One worker's view of its outbox: is sending held back, until when, and why."""

    def __init__(self, outbox: str, first_wait: timedelta, longest_wait: timedelta) -> None:
        self.outbox, self.first_wait, self.longest_wait = outbox, first_wait, longest_wait
        self.until: datetime | None = None
        self._outage: _Outage | None = None

    def is_holding(self, now: datetime) -> bool:
        if self.until is not None and now < self.until:
            return True
        self.until = None
        return False

    def next_try(self, now: datetime) -> datetime:
        """When to try again if sending is held back now."""
        holds = self._outage.holds if self._outage else 0
        return now + min(self.longest_wait, self.first_wait * 2 ** holds)

    def hold(self, now: datetime, failure: Delivery) -> datetime:
        """Hold sending back after `failure`; returns until when. Logs a new cause only."""
        until = self.next_try(now)
        cause = _cause(failure)
        if self._outage is None or self._outage.cause != cause:
            log.error("the %s outbox cannot take mail: %s; holding back the batch without "
                      "spending attempts, trying again at %s and then every %s at most until "
                      "it can (not logged again)", self.outbox, failure.reason,
                      until.isoformat(), _minutes(self.longest_wait))
            since = self._outage.since if self._outage else now
            self._outage = _Outage(failure.reason, cause, since)
        self._outage.holds += 1
        self.until = until
        return until

    def sent(self, now: datetime) -> None:
        """Mail went out: an outage, if there was one, is over."""
        if self._outage is not None:
            outage, self._outage = self._outage, None
            log.warning("sending again: the %s outbox takes mail after %s held back since %s "
                        "(%d times; the cause was: %s)", self.outbox,
                        _minutes(now - outage.since), outage.since.isoformat(), outage.holds,
                        outage.reason)


def server_failure(deliveries: list[Delivery]) -> Delivery | None:
    """One of the answers, when the server failed a whole chunk (two sends or more, every
    one a temporary failure): the server's trouble, not the recipients'."""
    if len(deliveries) < 2 or any(d.outcome is not Outcome.RETRY for d in deliveries):
        return None
    return deliveries[0]


def _cause(failure: Delivery) -> str:
    """What a failure has in common with the next one of the same cause: a server's reply
    code and status (its text may carry a transaction id), else the reason itself."""
    if failure.code is not None:
        return f"{failure.code} {failure.enhanced or ''}"
    return failure.reason


def _minutes(span: timedelta) -> str:
    return f"{span.total_seconds() / 60:.0f} min"
