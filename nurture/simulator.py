"""A small engagement simulator for the demo and `nurture simulate`: leads open, click, reply
and unsubscribe from the emails they were sent, at configurable rates, recorded through the
same `record_event` path as real tracking hits and replies.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from nurture.engine.events import NewEvent, record_event
from nurture.files.loader import Project
from nurture.store.engine import writing
from nurture.store.models import Outbox

OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
LOOK_BACK = timedelta(days=2)


@dataclass(frozen=True)
class Rates:
    """Chances per delivered email (a click implies an open; a reply implies an open)."""

    open: float = 0.45
    click: float = 0.12
    reply: float = 0.04
    unsubscribe: float = 0.006


class EngagementSimulator:
    """Rolls the dice once for each email sent since it last looked."""

    def __init__(self, engine: Engine, project: Project, rates: Rates = Rates(),
                 seed: int = 7) -> None:
        self.engine, self.project, self.rates = engine, project, rates
        self.random = random.Random(seed)
        self.seen: set[int] = set()
        self.counts: dict[str, int] = {}

    def step(self, now: datetime) -> int:
        """Simulate engagement with the emails sent since the last step; returns events made."""
        made = 0
        with writing(self.engine) as connection:
            rows = connection.execute(
                select(OUTBOX.c.id, OUTBOX.c.lead_id)
                .where(OUTBOX.c.status == "sent", OUTBOX.c.sent_at > now - LOOK_BACK)
                .order_by(OUTBOX.c.id)
            ).all()
            for outbox_id, lead_id in rows:
                if outbox_id in self.seen:
                    continue
                self.seen.add(outbox_id)
                for kind in self._roll():
                    record_event(connection, self.project, NewEvent(
                        lead_id=lead_id, type=kind, at=now, outbox_id=outbox_id,
                        data={"simulated": True}, source="simulator"))
                    self.counts[kind] = self.counts.get(kind, 0) + 1
                    made += 1
        return made

    def _roll(self) -> list[str]:
        draw = self.random.random
        if draw() < self.rates.unsubscribe:
            return ["unsubscribed"]
        kinds = []
        if draw() < self.rates.open:
            kinds.append("opened")
            if draw() < self.rates.click / self.rates.open:
                kinds.append("clicked")
            if draw() < self.rates.reply / self.rates.open:
                kinds.append("replied")
        return kinds
