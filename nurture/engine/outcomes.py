"""Recording what a tick decided and what the mail server answered.

Every touch ends in one of: sent, deferred (with the time it is tried again), skipped (with
reason), or failed (with reason) — nothing is dropped silently. Enrollment updates are fenced
by the claim's lease token; a worker that lost its lease records nothing for that enrollment.
Each transaction gathers its rows in a `Writes` and writes them in bulk (engine/writes.py).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Update, bindparam, update

from nurture.core.decisions import LeadFacts, Send, next_touch_time
from nurture.core.sequences import Sequence
from nurture.engine.batch import OUTBOX, BatchData, blocked_now, still_sending, stop_reasons
from nurture.engine.writes import Writes
from nurture.mail.transport import Delivery, Envelope, Outcome
from nurture.store.engine import writing
from nurture.store.models import Lead
from nurture.store.queue import Claimed, hold
from nurture.store.sql import in_list

if TYPE_CHECKING:
    from nurture.engine.dispatch import DispatchConfig

log = logging.getLogger("nurture.dispatch")
NOT_MAILABLE = "lead unsubscribed, bounced or suppressed before the send"


@cache
def _mark_sending(dialect: str) -> Update:
    return (update(OUTBOX).where(in_list(OUTBOX.c.id, "outbox_ids", dialect))
            .values(status="sending", attempts=OUTBOX.c.attempts + 1,
                    transport=bindparam("worker")))


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


@dataclass
class Recorder:
    """Collects a tick's outcomes and writes them in as few transactions as the promises allow:
    the plan in one, then one per chunk of sends, committed before its SMTP transactions."""

    engine: Any
    config: DispatchConfig
    now: datetime
    outcomes: Counter[str]
    sender_rejection: str | None = None
    plan: Writes = field(init=False)
    new_outbox: list[Pending] = field(default_factory=list)  # waiting for their row's id
    # Claims whose touch is committed `sending` and not yet recorded: the mail server may
    # have it, so a failed tick does not hand them back (engine/leftovers.py).
    in_doubt: set[int] = field(default_factory=set)
    delivered: list[tuple[Pending, Delivery]] = field(default_factory=list)  # not yet written
    # Outbox ids whose temporary failure was the server's (it failed the whole chunk): they
    # cost no attempt and wait until the time given, with the rest of the batch.
    held: dict[int | None, datetime] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.plan = Writes(self.now)

    # -- decisions that need no mail server, written by write_plan in one transaction --

    def stop(self, claim: Claimed, reason: str) -> None:
        self.outcomes["stopped"] += 1
        self.plan.complete(claim, status="stopped", stop_reason=reason, next_touch_at=None)

    def finish(self, claim: Claimed) -> None:
        self.outcomes["finished"] += 1
        self.plan.complete(claim, status="finished", stop_reason="finished", next_touch_at=None)

    def defer(self, claim: Claimed, until: datetime, reason: str) -> None:
        log.debug("enrollment %s deferred to %s: %s", claim.id, until.isoformat(), reason)
        self.outcomes["deferred"] += 1
        self.plan.complete(claim, next_touch_at=until)

    def advance(self, claim: Claimed, sequence: Sequence, facts: LeadFacts, outcome: str,
                reason: str) -> None:
        """Move past the current touch (skipped, failed, task created) to the next one."""
        log.info("enrollment %s touch %s %s: %s", claim.id, claim.position + 1, outcome, reason)
        self.outcomes[outcome] += 1
        self._advance(self.plan, claim, sequence, facts)

    def task(self, claim: Claimed, sequence: Sequence, lead: Lead, facts: LeadFacts,
             title: str) -> None:
        self.outcomes["task"] += 1
        self.plan.add_task(lead_id=lead.id, owner_id=lead.owner_id, enrollment_id=claim.id,
                           touch_index=claim.position, title=title, due_at=self.now)
        self._advance(self.plan, claim, sequence, facts)

    def catch_up(self, claim: Claimed, sequence: Sequence, facts: LeadFacts) -> None:
        """The touch already ended (sent, failed, skipped) but the enrollment did not move on:
        a crash or a lost lease between the two writes. Move on without sending again, to the
        next touch after its wait (not at once: the lead just had this one)."""
        self.outcomes["caught_up"] += 1
        self._advance(self.plan, claim, sequence, facts)

    def settle_interrupted(self, claim: Claimed, sequence: Sequence, facts: LeadFacts,
                           outbox_id: int) -> None:
        self.outcomes["assumed_sent"] += 1
        self.plan.change_outbox(outbox_id, status="sent", sent_at=self.now,
                                reason="assumed sent after an interruption")
        self._advance(self.plan, claim, sequence, facts)

    def fail_touch(self, claim: Claimed, reason: str, data: BatchData) -> None:
        """An unexpected error for one enrollment: retry it later instead of spinning on it."""
        self.defer(claim, self.now + self.config.retry_cap, reason)

    def render_failed(self, claim: Claimed, sequence: Sequence, facts: LeadFacts, send: Send,
                      msg_id: str, reason: str, existing: dict[str, Any] | None) -> None:
        log.warning("enrollment %s touch %s failed to render: %s", claim.id, claim.position + 1,
                    reason)
        self.outcomes["failed"] += 1
        self._upsert_outbox(claim, msg_id, existing, status="failed", reason=reason, subject="",
                            variant=send.variant)
        self._advance(self.plan, claim, sequence, facts)

    def outbox(self, claim: Claimed, sequence: Sequence, facts: LeadFacts, send: Send,
               subject: str, envelope: Envelope, existing: dict[str, Any] | None) -> Pending:
        pending = Pending(claim, sequence, facts, send.touch_index, subject, send.variant,
                          envelope, existing["id"] if existing else None,
                          existing["attempts"] if existing else 0)
        self._upsert_outbox(claim, envelope.message_id, existing, status="pending",
                            subject=subject, variant=send.variant)
        if not existing:
            self.new_outbox.append(pending)
        return pending

    def write_plan(self) -> None:
        with writing(self.engine) as connection:
            ids = self._flush(connection, self.plan)
        for pending in self.new_outbox:
            pending.outbox_id = ids[(pending.claim.id, pending.claim.position)]
        self.plan, self.new_outbox = Writes(self.now), []

    # -- the chunk around the SMTP transactions --
    # A chunk's answers are written in the transaction that marks the next chunk `sending`
    # (or postpones the rest, or by flush_deliveries at the end): one commit per chunk, and
    # still before the next chunk's SMTP transactions start.

    def mark_sending(self, chunk: list[Pending]) -> list[Pending]:
        """Re-check who may be mailed, then mark the rest `sending` — committed before SMTP."""
        with self._transaction() as (connection, writes):
            blocked = blocked_now(connection, [p.claim.lead_id for p in chunk])
            ready = self._still_ours(connection,
                                     [p for p in chunk if p.claim.lead_id not in blocked], writes)
            for pending in chunk:
                if pending.claim.lead_id in blocked:
                    self.outcomes["skipped"] += 1
                    writes.change_outbox(pending.outbox_id, status="skipped", reason=NOT_MAILABLE)
                    writes.complete(pending.claim, status="stopped",
                                    stop_reason="lead no longer mailable", next_touch_at=None)
            if ready:
                connection.execute(_mark_sending(connection.dialect.name),
                                   {"outbox_ids": [p.outbox_id for p in ready],
                                    "worker": self.config.worker})
        self.in_doubt.update(p.claim.id for p in ready)
        return ready

    def record_deliveries(self, results: list[tuple[Pending, Delivery]],
                          held_until: datetime | None = None) -> None:
        """Take a chunk's answers, to be written with the next transaction; with `held_until`,
        their temporary failures are the server's and are held until then."""
        for _, delivery in results:
            if delivery.outcome is Outcome.SENDER_REJECTED:
                self.sender_rejection = delivery.reason  # our sender, whoever holds the lease
        self.delivered.extend(results)
        if held_until is not None:
            self.held.update((pending.outbox_id, held_until) for pending, _ in results)

    def flush_deliveries(self) -> None:
        """Write the answers still held back, once the tick sends nothing more."""
        if self.delivered:
            with self._transaction():
                pass

    def postpone(self, rest: list[Pending], until: datetime, reason: str) -> None:
        with self._transaction() as (connection, writes):
            for pending in self._still_ours(connection, rest, writes):
                self.outcomes["deferred"] += 1
                writes.change_outbox(pending.outbox_id, status="deferred", reason=reason,
                                     next_attempt_at=until)
                writes.complete(pending.claim, next_touch_at=until)

    @contextmanager
    def _transaction(self) -> Iterator[tuple[Connection, Writes]]:
        """A write transaction that records the answers held back, then what the caller adds."""
        writes, answers = Writes(self.now), self.delivered
        with writing(self.engine) as connection:
            self._record(connection, writes, answers)
            yield connection, writes
            self._flush(connection, writes)
        self.delivered = []
        self.in_doubt.difference_update(pending.claim.id for pending, _ in answers)

    def _record(self, connection: Connection, writes: Writes,
                answers: list[tuple[Pending, Delivery]]) -> None:
        # Fenced by the outbox row: a worker that took the enrollment over after our lease
        # expired, and sent or settled this touch, has the last word on it.
        ours = still_sending(connection, {p.outbox_id: p.attempts + 1 for p, _ in answers})
        for pending, delivery in answers:
            if pending.outbox_id not in ours:
                self._lease_lost(pending, "not recording its delivery")
            elif delivery.outcome is Outcome.SENT:
                self._sent(writes, pending)
            elif delivery.outcome is Outcome.RECIPIENT_REJECTED:
                self._hard_bounce(writes, pending, delivery)
            else:
                self._retry(writes, pending, delivery.reason,
                            sender_paused=delivery.outcome is Outcome.SENDER_REJECTED,
                            held_until=self.held.get(pending.outbox_id))

    # -- helpers --

    def _flush(self, connection: Connection, writes: Writes) -> dict[tuple[int, int], int]:
        """Write `writes`; returns the new outbox ids by (enrollment, touch)."""
        written = writes.flush(connection)
        for claim in written.lost:
            log.warning("enrollment %s: lease lost before its outcome was recorded; "
                        "the worker holding it now decides", claim.id)
        return written.outbox_ids

    def _still_ours(self, connection: Connection, chunk: list[Pending],
                    writes: Writes) -> list[Pending]:
        """The touches whose enrollment this worker still holds, locked until the transaction
        ends. Of the rest, those stopped meanwhile (a reply, an unsubscribe) are skipped; the
        others were taken over by a worker after the lease expired and are its business."""
        held = hold(connection, [p.claim for p in chunk])
        lost = [p for p in chunk if p.claim.id not in held]
        stopped = stop_reasons(connection, [p.claim.id for p in lost])
        for pending in lost:
            if pending.claim.id in stopped:
                self.outcomes["skipped"] += 1
                writes.change_outbox(
                    pending.outbox_id, status="skipped",
                    reason=f"enrollment stopped before the send: {stopped[pending.claim.id]}")
            else:
                self._lease_lost(pending, "leaving the touch to it")
        return [p for p in chunk if p.claim.id in held]

    def _lease_lost(self, pending: Pending, consequence: str) -> None:
        self.outcomes["lease_lost"] += 1
        log.warning("enrollment %s touch %s: lease lost to another worker; %s",
                    pending.claim.id, pending.touch_index + 1, consequence)

    def _sent(self, writes: Writes, pending: Pending) -> None:
        self.outcomes["sent"] += 1
        writes.change_outbox(pending.outbox_id, status="sent", sent_at=self.now, reason=None)
        writes.add_event(pending.claim.lead_id, "sent", pending.outbox_id,
                         {"sequence": pending.sequence.id, "touch": pending.touch_index + 1,
                          "variant": pending.variant, "subject": pending.subject})
        self._advance(writes, pending.claim, pending.sequence, pending.facts)

    def _hard_bounce(self, writes: Writes, pending: Pending, delivery: Delivery) -> None:
        self.outcomes["bounced"] += 1
        writes.change_outbox(pending.outbox_id, status="failed", reason=delivery.reason)
        writes.add_event(pending.claim.lead_id, "bounced", pending.outbox_id,
                         {"kind": "hard", "reason": delivery.reason, "code": delivery.code,
                          "enhanced": delivery.enhanced})
        writes.complete(pending.claim, status="stopped", stop_reason="bounced",
                        next_touch_at=None)
        writes.bounce(pending.claim.lead_id)

    def _retry(self, writes: Writes, pending: Pending, reason: str,
               sender_paused: bool = False, held_until: datetime | None = None) -> None:
        """Try again after a backoff; a refused sender costs no attempt and waits for the pause
        to end, like the rest of the batch (no worker should retry it any earlier), and so
        does a failure of the server's (`held_until`)."""
        attempts = pending.attempts + 1  # still_sending saw this count, and locked the row
        free = sender_paused or held_until is not None
        if not free and attempts >= self.config.max_attempts:
            self.outcomes["failed"] += 1
            log.warning("enrollment %s touch %s failed after %s attempts: %s",
                        pending.claim.id, pending.touch_index + 1, attempts, reason)
            writes.change_outbox(pending.outbox_id, status="failed", reason=reason)
            self._advance(writes, pending.claim, pending.sequence, pending.facts)
            return
        self.outcomes["retried"] += 1
        delay = (self.config.sender_pause if sender_paused else
                 min(self.config.retry_cap, self.config.retry_base * 2 ** (attempts - 1)))
        due = held_until or self.now + delay
        values: dict[str, Any] = {"status": "deferred", "reason": reason, "next_attempt_at": due}
        if free:
            values["attempts"] = pending.attempts
        writes.change_outbox(pending.outbox_id, **values)
        writes.complete(pending.claim, next_touch_at=due)

    def _advance(self, writes: Writes, claim: Claimed, sequence: Sequence,
                 facts: LeadFacts) -> None:
        position = claim.position + 1
        due = next_touch_time(sequence, position, self.now, facts, self.config.jitter)
        if due is None:
            writes.complete(claim, position=position, status="finished",
                            stop_reason="finished", next_touch_at=None)
        else:
            writes.complete(claim, position=position, next_touch_at=due)

    def _upsert_outbox(self, claim: Claimed, msg_id: str, existing: dict[str, Any] | None,
                       **values: Any) -> None:
        if existing:
            self.plan.change_outbox(existing["id"], **values)
        else:
            self.plan.add_outbox(claim, msg_id, **values)
