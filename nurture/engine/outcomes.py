"""Recording what a tick decided and what the mail server answered.

Every touch ends in one of: sent, deferred (with the time it is tried again), skipped (with
reason), or failed (with reason) — nothing is dropped silently. Enrollment updates are fenced
by the claim's lease token; a worker that lost its lease records nothing for that enrollment.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, update
from sqlmodel import Session

from nurture.core.decisions import LeadFacts, Send, next_touch_time
from nurture.core.sequences import Sequence
from nurture.engine.batch import (
    EVENTS,
    LEADS,
    OUTBOX,
    BatchData,
    blocked_now,
    still_sending,
    stop_reasons,
)
from nurture.engine.enroll import stop_enrollments
from nurture.mail.transport import Delivery, Envelope, Outcome
from nurture.store.engine import writing
from nurture.store.models import Lead, Task
from nurture.store.queue import Claimed, complete, hold
from nurture.store.sql import insert_ignoring_duplicates

if TYPE_CHECKING:
    from nurture.engine.dispatch import DispatchConfig

log = logging.getLogger("nurture.dispatch")
TASKS = Task.__table__  # type: ignore[attr-defined]
Step = Callable[[Connection], None]


@dataclass
class Pending:
    """A touch ready to go: its outbox row, its message, and what to do once it went."""

    claim: Claimed
    sequence: Sequence
    facts: LeadFacts
    touch_index: int
    subject: str
    variant: int
    envelope: Envelope
    outbox_id: int | None = None
    attempts: int = 0


class Recorder:
    """Collects a tick's outcomes and writes them in as few transactions as the promises allow."""

    def __init__(self, engine: Any, config: DispatchConfig, now: datetime,
                 outcomes: Counter[str]) -> None:
        self.engine, self.config, self.now, self.outcomes = engine, config, now, outcomes
        self.steps: list[Step] = []
        self.new_outbox: list[Pending] = []
        self.sender_rejection: str | None = None

    # -- decisions that need no mail server, written by write_plan in one transaction --

    def _later(self, outcome: str, step: Step) -> None:
        self.outcomes[outcome] += 1
        self.steps.append(step)

    def stop(self, claim: Claimed, reason: str) -> None:
        self._later("stopped", lambda c: self._complete(c, claim, status="stopped",
                                                        stop_reason=reason, next_touch_at=None))

    def finish(self, claim: Claimed) -> None:
        self._later("finished", lambda c: self._complete(c, claim, status="finished",
                                                         stop_reason="finished",
                                                         next_touch_at=None))

    def defer(self, claim: Claimed, until: datetime, reason: str) -> None:
        log.debug("enrollment %s deferred to %s: %s", claim.id, until.isoformat(), reason)
        self._later("deferred", lambda c: self._complete(c, claim, next_touch_at=until))

    def advance(self, claim: Claimed, sequence: Sequence, facts: LeadFacts, outcome: str,
                reason: str) -> None:
        """Move past the current touch (skipped, failed, task created) to the next one."""
        log.info("enrollment %s touch %s %s: %s", claim.id, claim.position + 1, outcome, reason)
        self._later(outcome, lambda c: self._advance(c, claim, sequence, facts))

    def task(self, claim: Claimed, sequence: Sequence, lead: Lead, facts: LeadFacts,
             title: str) -> None:
        values = {"lead_id": lead.id, "owner_id": lead.owner_id, "enrollment_id": claim.id,
                  "touch_index": claim.position, "title": title, "due_at": self.now}

        def create(connection: Connection) -> None:
            insert_ignoring_duplicates(connection, TASKS, values)
            self._advance(connection, claim, sequence, facts)

        self._later("task", create)

    def catch_up(self, claim: Claimed, sequence: Sequence, facts: LeadFacts) -> None:
        """The touch already ended (sent, failed, skipped) but the enrollment did not move on:
        a crash or a lost lease between the two writes. Move on without sending again, to the
        next touch after its wait (not at once: the lead just had this one)."""
        self._later("caught_up", lambda c: self._advance(c, claim, sequence, facts))

    def settle_interrupted(self, claim: Claimed, sequence: Sequence, facts: LeadFacts,
                           outbox_id: int) -> None:
        def settle(connection: Connection) -> None:
            connection.execute(update(OUTBOX).where(OUTBOX.c.id == outbox_id).values(
                status="sent", sent_at=self.now, reason="assumed sent after an interruption"))
            self._advance(connection, claim, sequence, facts)

        self._later("assumed_sent", settle)

    def fail_touch(self, claim: Claimed, reason: str, data: BatchData) -> None:
        """An unexpected error for one enrollment: retry it later instead of spinning on it."""
        self.defer(claim, self.now + self.config.retry_cap, reason)

    def render_failed(self, claim: Claimed, sequence: Sequence, facts: LeadFacts, send: Send,
                      msg_id: str, reason: str, existing: dict[str, Any] | None) -> None:
        values = {"status": "failed", "reason": reason, "subject": "", "variant": send.variant}

        def record(connection: Connection) -> None:
            self._upsert_outbox(connection, claim, msg_id, values, existing)
            self._advance(connection, claim, sequence, facts)

        log.warning("enrollment %s touch %s failed to render: %s", claim.id, claim.position + 1,
                    reason)
        self._later("failed", record)

    def outbox(self, claim: Claimed, sequence: Sequence, facts: LeadFacts, send: Send,
               subject: str, envelope: Envelope, existing: dict[str, Any] | None) -> Pending:
        pending = Pending(claim, sequence, facts, send.touch_index, subject, send.variant,
                          envelope, existing["id"] if existing else None,
                          existing["attempts"] if existing else 0)
        values = {"status": "pending", "subject": subject, "variant": send.variant}

        def record(connection: Connection) -> None:
            pending.outbox_id = self._upsert_outbox(connection, claim, envelope.message_id,
                                                    values, existing)

        self.steps.append(record)
        return pending

    def write_plan(self, session: Session) -> None:
        with writing(self.engine) as connection:
            for step in self.steps:
                step(connection)
        self.steps.clear()

    # -- the chunk around the SMTP transactions --

    def mark_sending(self, chunk: list[Pending]) -> list[Pending]:
        """Re-check who may be mailed, then mark the rest `sending` — committed before SMTP."""
        with writing(self.engine) as connection:
            blocked = blocked_now(connection, [p.claim.lead_id for p in chunk])
            ready = self._still_ours(connection,
                                     [p for p in chunk if p.claim.lead_id not in blocked])
            for pending in chunk:
                if pending.claim.lead_id in blocked:
                    self.outcomes["skipped"] += 1
                    connection.execute(update(OUTBOX).where(OUTBOX.c.id == pending.outbox_id)
                                       .values(status="skipped",
                                               reason="lead unsubscribed, bounced or suppressed "
                                                      "before the send"))
                    self._complete(connection, pending.claim, status="stopped",
                                   stop_reason="lead no longer mailable", next_touch_at=None)
            if ready:
                connection.execute(
                    update(OUTBOX).where(OUTBOX.c.id.in_([p.outbox_id for p in ready]))
                    .values(status="sending", attempts=OUTBOX.c.attempts + 1,
                            transport=self.config.worker)
                )
        return ready

    def record_deliveries(self, results: list[tuple[Pending, Delivery]]) -> None:
        with writing(self.engine) as connection:
            sent_events = []
            # Fenced by the outbox row: a worker that took the enrollment over after our lease
            # expired, and sent or settled this touch, has the last word on it.
            ours = still_sending(connection, {p.outbox_id: p.attempts + 1 for p, _ in results})
            for pending, delivery in results:
                if delivery.outcome is Outcome.SENDER_REJECTED:
                    self.sender_rejection = delivery.reason  # our sender, whoever holds the lease
                if pending.outbox_id not in ours:
                    self._lease_lost(pending, "not recording its delivery")
                    continue
                if delivery.outcome is Outcome.SENT:
                    sent_events.append(self._sent(connection, pending))
                elif delivery.outcome is Outcome.RECIPIENT_REJECTED:
                    self._hard_bounce(connection, pending, delivery)
                else:
                    self._retry(connection, pending, delivery.reason,
                                sender_paused=delivery.outcome is Outcome.SENDER_REJECTED)
            if sent_events:
                connection.execute(insert(EVENTS), sent_events)

    def postpone(self, rest: list[Pending], until: datetime, reason: str) -> None:
        with writing(self.engine) as connection:
            for pending in self._still_ours(connection, rest):
                self.outcomes["deferred"] += 1
                connection.execute(update(OUTBOX).where(OUTBOX.c.id == pending.outbox_id)
                                   .values(status="deferred", reason=reason,
                                           next_attempt_at=until))
                self._complete(connection, pending.claim, next_touch_at=until)

    # -- helpers --

    def _still_ours(self, connection: Connection, chunk: list[Pending]) -> list[Pending]:
        """The touches whose enrollment this worker still holds, locked until the transaction
        ends. Of the rest, those stopped meanwhile (a reply, an unsubscribe) are skipped; the
        others were taken over by a worker after the lease expired and are its business."""
        held = hold(connection, [p.claim for p in chunk])
        lost = [p for p in chunk if p.claim.id not in held]
        stopped = stop_reasons(connection, [p.claim.id for p in lost])
        for pending in lost:
            if pending.claim.id in stopped:
                self.outcomes["skipped"] += 1
                connection.execute(update(OUTBOX).where(OUTBOX.c.id == pending.outbox_id).values(
                    status="skipped",
                    reason=f"enrollment stopped before the send: {stopped[pending.claim.id]}"))
            else:
                self._lease_lost(pending, "leaving the touch to it")
        return [p for p in chunk if p.claim.id in held]

    def _lease_lost(self, pending: Pending, consequence: str) -> None:
        self.outcomes["lease_lost"] += 1
        log.warning("enrollment %s touch %s: lease lost to another worker; %s",
                    pending.claim.id, pending.touch_index + 1, consequence)

    def _sent(self, connection: Connection, pending: Pending) -> dict[str, Any]:
        self.outcomes["sent"] += 1
        connection.execute(update(OUTBOX).where(OUTBOX.c.id == pending.outbox_id)
                           .values(status="sent", sent_at=self.now, reason=None))
        self._advance(connection, pending.claim, pending.sequence, pending.facts)
        return {"lead_id": pending.claim.lead_id, "type": "sent", "at": self.now,
                "outbox_id": pending.outbox_id, "machine": False,
                "data": {"sequence": pending.sequence.id, "touch": pending.touch_index + 1,
                         "variant": pending.variant, "subject": pending.subject}}

    def _hard_bounce(self, connection: Connection, pending: Pending, delivery: Delivery) -> None:
        self.outcomes["bounced"] += 1
        lead_id = pending.claim.lead_id
        connection.execute(update(OUTBOX).where(OUTBOX.c.id == pending.outbox_id)
                           .values(status="failed", reason=delivery.reason))
        connection.execute(update(LEADS).where(LEADS.c.id == lead_id)
                           .values(status="bounced", updated_at=self.now))
        connection.execute(insert(EVENTS).values(
            lead_id=lead_id, type="bounced", at=self.now, outbox_id=pending.outbox_id,
            machine=False, data={"kind": "hard", "reason": delivery.reason,
                                 "code": delivery.code, "enhanced": delivery.enhanced}))
        self._complete(connection, pending.claim, status="stopped", stop_reason="bounced",
                       next_touch_at=None)
        stop_enrollments(connection, lead_id, "bounced", self.now)

    def _retry(self, connection: Connection, pending: Pending, reason: str,
               sender_paused: bool = False) -> None:
        """Try again after a backoff; a refused sender costs no attempt and waits for the pause
        to end, like the rest of the batch (no worker should retry it any earlier)."""
        attempts = pending.attempts + 1
        if not sender_paused and attempts >= self.config.max_attempts:
            self.outcomes["failed"] += 1
            log.warning("enrollment %s touch %s failed after %s attempts: %s",
                        pending.claim.id, pending.touch_index + 1, attempts, reason)
            connection.execute(update(OUTBOX).where(OUTBOX.c.id == pending.outbox_id)
                               .values(status="failed", reason=reason))
            self._advance(connection, pending.claim, pending.sequence, pending.facts)
            return
        self.outcomes["retried"] += 1
        delay = (self.config.sender_pause if sender_paused else
                 min(self.config.retry_cap, self.config.retry_base * 2 ** (attempts - 1)))
        values: dict[str, Any] = {"status": "deferred", "reason": reason,
                                  "next_attempt_at": self.now + delay}
        if sender_paused:
            values["attempts"] = OUTBOX.c.attempts - 1
        connection.execute(update(OUTBOX).where(OUTBOX.c.id == pending.outbox_id).values(**values))
        self._complete(connection, pending.claim, next_touch_at=self.now + delay)

    def _advance(self, connection: Connection, claim: Claimed, sequence: Sequence,
                 facts: LeadFacts) -> None:
        position = claim.position + 1
        due = next_touch_time(sequence, position, self.now, facts, self.config.jitter)
        if due is None:
            self._complete(connection, claim, position=position, status="finished",
                           stop_reason="finished", next_touch_at=None)
        else:
            self._complete(connection, claim, position=position, next_touch_at=due)

    def _complete(self, connection: Connection, claim: Claimed, **values: Any) -> None:
        if not complete(connection, claim, self.now, **values):
            log.warning("enrollment %s: lease lost before its outcome was recorded; "
                        "the worker holding it now decides", claim.id)

    def _upsert_outbox(self, connection: Connection, claim: Claimed, msg_id: str,
                       values: dict[str, Any], existing: dict[str, Any] | None) -> int:
        if existing:
            connection.execute(update(OUTBOX).where(OUTBOX.c.id == existing["id"]).values(**values))
            return int(existing["id"])
        row = {"enrollment_id": claim.id, "touch_index": claim.position,
               "lead_id": claim.lead_id, "message_id": msg_id, "attempts": 0,
               "created_at": self.now, **values}
        return int(connection.execute(insert(OUTBOX).values(**row).returning(OUTBOX.c.id))
                   .scalar_one())
