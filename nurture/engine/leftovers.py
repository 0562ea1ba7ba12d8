"""What a tick that failed half-way (the database went away, or a bug) could not write.

A failed tick records the answers the mail server gave for its last chunk and hands back the
claims it did not complete, so the next tick retries them at once instead of after the lease.
The database may be what failed: what cannot be written then is kept, and written by the
worker's next tick before anything else — answers recorded late are not sent again. Touches
that may be inside an SMTP transaction stay leased: like after a crash, they wait for the
lease to expire and `on_interrupted`, so a failure that repeats does not resend them every
tick. A worker that dies meanwhile loses what it kept: the same rule settles those touches.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Engine

from nurture.engine.outcomes import Recorder
from nurture.logs import one_line
from nurture.store.engine import writing
from nurture.store.queue import Claimed, release

log = logging.getLogger("nurture.dispatch")


class Leftovers:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.unrecorded: Recorder | None = None
        self.unreleased: list[Claimed] = []

    def salvage(self, recorder: Recorder, claims: list[Claimed], now: datetime) -> None:
        """After a failed tick: write what it can, keep the rest."""
        try:
            recorder.flush_deliveries()
        except Exception as error:
            self.unrecorded = recorder
            log.warning("the tick failed and the answers of its last %d sends could not be "
                        "recorded (%s); trying again at the next tick", len(recorder.delivered),
                        one_line(error))
        free = [claim for claim in claims if claim.id not in recorder.in_doubt]
        try:
            with writing(self.engine) as connection:
                released = release(connection, free, now)
        except Exception as error:
            self.unreleased = free
            log.warning("the tick failed and its %d claims could not be released (%s); "
                        "trying again at the next tick", len(free), one_line(error))
            return
        log.warning("the tick failed; released %d of its %d claims for the next tick",
                    released, len(claims))

    def write(self, now: datetime) -> None:
        """Write what the last failed tick kept: its answers (fenced as always: a touch
        another worker took over since is left to it), then its claims handed back. Raises
        while the database still fails."""
        if self.unrecorded is not None:
            count = len(self.unrecorded.delivered)
            self.unrecorded.flush_deliveries()
            self.unrecorded = None
            log.info("recorded the answers of %d sends left by the failed tick", count)
        if self.unreleased:
            with writing(self.engine) as connection:
                release(connection, self.unreleased, now)
            self.unreleased = []
