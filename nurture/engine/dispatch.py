"""One dispatch tick: claim due enrollments, decide each, render, send, record.

The order is what keeps the promises (DESIGN.md, "Processes"):
1. claim a batch under a lease (the database is the queue);
2. decide each enrollment in the pure core; render the sends; write their outbox rows
   (unique per enrollment and touch) and every non-send outcome, in one transaction;
3. per chunk: check that the outbox can take mail (the server answers, the Maildir is
   writable), read suppression and status again, mark `sending` the touches whose lease this
   worker still holds, commit — only then the SMTP transactions — then record each outcome,
   fenced by the lease token (the enrollment) and the `sending` mark (the outbox row). The
   outcomes of a chunk are written in the transaction that marks the next one `sending`.
A crash leaves at most one chunk in `sending`: only those touches can arrive twice.

An outbox that cannot take mail holds sending back (engine/outage.py); a tick the database
fails leaves what it could not write to the next one (engine/leftovers.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine

from nurture.core.decisions import (
    Decision,
    Defer,
    EnrollmentFacts,
    Finish,
    LeadFacts,
    Send,
    Skip,
    Stop,
    decide,
)
from nurture.core.errors import NurtureError
from nurture.core.limits import (
    DomainRate,
    LeadCap,
    lead_cap_allows,
    mailbox_budget,
    recipient_domain,
)
from nurture.core.sequences import Sequence
from nurture.engine.batch import BatchData, load_batch, mailbox_counts
from nurture.engine.compose import Identity, compose, message_id, task_title
from nurture.engine.facts import condition_context, holiday_country, lead_facts
from nurture.engine.leftovers import Leftovers
from nurture.engine.outage import Holds, server_failure
from nurture.engine.outcomes import Pending, Recorder
from nurture.files.loader import Project
from nurture.mail.transport import Checked, Delivery, Envelope, Outcome, Transport
from nurture.render import TemplateRenderer
from nurture.store.engine import writing
from nurture.store.models import Lead
from nurture.store.queue import Claimed, claim_due

log = logging.getLogger("nurture.dispatch")


@dataclass(frozen=True)
class DispatchConfig:
    worker: str = "worker"
    batch_size: int = 500
    chunk_size: int = 16
    lease: timedelta = timedelta(minutes=5)
    jitter: timedelta = timedelta(minutes=10)
    default_zone: str = "UTC"
    lead_cap: LeadCap = LeadCap(per_day=1, per_week=3)
    per_hour: int = 500
    per_day: int = 5000
    per_domain_per_minute: int = 60
    max_attempts: int = 5
    retry_base: timedelta = timedelta(minutes=1)
    retry_cap: timedelta = timedelta(hours=6)
    sender_pause: timedelta = timedelta(minutes=30)
    outage_wait_cap: timedelta = timedelta(minutes=15)
    on_interrupted: str = "resend"  # or "assume_sent"; see docs/operations.md


@dataclass
class TickReport:
    claimed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)

    def __str__(self) -> str:
        parts = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))
        return f"claimed {self.claimed}" + (f": {parts}" if parts else "")


class Dispatcher:
    """Runs ticks for one worker; holds no state between ticks but the sender pause, an
    outage of the outbox, and what a failed tick could not write."""

    def __init__(self, engine: Engine, project: Project, renderer: TemplateRenderer,
                 transport: Transport, identity: Identity, config: DispatchConfig) -> None:
        self.engine, self.project, self.renderer = engine, project, renderer
        self.transport, self.identity, self.config = transport, identity, config
        self.paused_until: datetime | None = None
        # Per worker: with N workers a domain may see up to N × per_domain_per_minute.
        self.domain_rate = DomainRate(config.per_domain_per_minute)
        self.pause_reason = ""
        self.holds = Holds(transport.name, config.retry_base, config.outage_wait_cap)
        self.leftovers = Leftovers(engine)

    async def tick(self, now: datetime) -> TickReport:
        """Dispatch what is due at `now`; returns what happened."""
        report = TickReport()
        self.leftovers.write(now)
        if self.paused_until and now < self.paused_until:
            return report
        self.paused_until = None
        if self.holds.is_holding(now):
            return report
        with writing(self.engine) as connection:
            sent_hour, sent_day = mailbox_counts(connection, now)
            budget = mailbox_budget(sent_hour, sent_day, self.config.per_hour, self.config.per_day)
            claims = claim_due(connection, self.config.worker, now,
                               min(self.config.batch_size, budget.remaining), self.config.lease)
        report.claimed = len(claims)
        if not claims:
            return report
        recorder = Recorder(self.engine, self.config, now, report.outcomes)
        try:
            await self._dispatch(claims, now, recorder)
        except BaseException:
            self.leftovers.salvage(recorder, claims, now)
            raise
        return report

    async def _dispatch(self, claims: list[Claimed], now: datetime, recorder: Recorder) -> None:
        with self.engine.connect() as connection:
            data = load_batch(connection, claims, now)
        pending = self._plan(claims, data, now, recorder)
        recorder.write_plan()
        size = self.config.chunk_size
        for start in range(0, len(pending), size):
            if not await self._next_chunk(pending[start:start + size],
                                          pending[start + size:], now, recorder):
                break
        recorder.flush_deliveries()

    def _plan(self, claims: list[Claimed], data: BatchData, now: datetime,
              recorder: Recorder) -> list[Pending]:
        pending: list[Pending] = []
        for claim in claims:
            try:
                item = self._plan_one(claim, data, now, recorder)
            except Exception as exc:  # one bad lead must never stop the batch
                log.exception("enrollment %s (lead %s): %s", claim.id, claim.lead_id, exc)
                recorder.fail_touch(claim, f"internal error: {exc}", data)
                continue
            if item is not None:
                pending.append(item)
        return pending

    def _plan_one(self, claim: Claimed, data: BatchData, now: datetime,
                  recorder: Recorder) -> Pending | None:
        sequence = self.project.sequence(claim.sequence_id)
        lead = data.leads.get(claim.lead_id)
        if sequence is None or lead is None:
            recorder.stop(claim, "sequence removed" if lead else "lead deleted")
            return None
        facts = lead_facts(lead, self.config.default_zone, now,
                           holidays_in=holiday_country(sequence.send_window.holidays, lead),
                           is_suppressed=claim.lead_id in data.suppressed)
        existing = data.existing.get((claim.id, claim.position))
        if existing and self._already_done(existing, claim, sequence, facts, recorder):
            return None
        enrollment = EnrollmentFacts(claim.id, claim.sequence_id, claim.stage, claim.position,
                                     claim.next_touch_at, data.engagement.get(claim.id, {}))
        decision: Decision = decide(sequence, enrollment, facts, now,
                                    condition_context(lead, now))
        if isinstance(decision, Send) and sequence.touches[decision.touch_index].kind == "task":
            title = self._task_title(sequence, decision.touch_index, lead, data)
            recorder.task(claim, sequence, lead, facts, title)  # no email: no sending limit
            return None
        if isinstance(decision, Send):
            decision = self._limit(decision, lead.email, claim.lead_id, data, now)
        if isinstance(decision, Send):
            return self._compose(claim, sequence, decision, lead, facts, data, now, recorder,
                                 existing)
        if isinstance(decision, Skip):
            recorder.advance(claim, sequence, facts, "skipped", decision.reason)
        elif isinstance(decision, Defer):
            recorder.defer(claim, decision.until, decision.reason)
        elif isinstance(decision, Stop):
            recorder.stop(claim, decision.reason)
        elif isinstance(decision, Finish):
            recorder.finish(claim)
        return None

    def _already_done(self, existing: dict, claim: Claimed, sequence: Sequence,
                      facts: LeadFacts, recorder: Recorder) -> bool:
        """A touch whose outbox row exists: settle it without sending again where it is done."""
        status = existing["status"]
        if status == "sending" and self.config.on_interrupted == "assume_sent":
            recorder.settle_interrupted(claim, sequence, facts, existing["id"])
            return True
        if status == "sending":
            log.warning("touch %s of enrollment %s was interrupted inside its SMTP transaction; "
                        "sending it again (on_interrupted = resend)", claim.position, claim.id)
        if status in ("sent", "failed", "skipped"):
            recorder.catch_up(claim, sequence, facts)
            return True
        return False

    def _limit(self, send: Send, email: str, lead_id: int, data: BatchData,
               now: datetime) -> Decision:
        sends = data.recent_sends.setdefault(lead_id, [])
        capped_until = lead_cap_allows(sends, now, self.config.lead_cap)
        if capped_until is not None:
            return Defer(capped_until, "frequency cap for the lead")
        domain = recipient_domain(email)
        domain_free_at = self.domain_rate.allows(domain, now)
        if domain_free_at is not None:
            return Defer(domain_free_at, f"rate limit for {domain}")
        self.domain_rate.record(domain, now)
        sends.append(now)
        return send

    def _task_title(self, sequence: Sequence, touch_index: int, lead: Lead,
                    data: BatchData) -> str:
        owner = data.owners.get(lead.owner_id) if lead.owner_id else None
        try:
            return task_title(self.renderer, self.identity, sequence, touch_index, lead, owner)
        except NurtureError as exc:  # the rep still gets the task, with the text as written
            log.warning("task text of %s touch %d does not render for lead %s: %s",
                        sequence.id, touch_index + 1, lead.id, exc)
            return sequence.touches[touch_index].task or f"Follow up with {lead.email}"

    def _compose(self, claim: Claimed, sequence: Sequence, send: Send, lead: Lead,
                 facts: LeadFacts, data: BatchData, now: datetime, recorder: Recorder,
                 existing: dict | None) -> Pending | None:
        msg_id = message_id(self.identity, claim.id, send.touch_index)
        owner = data.owners.get(lead.owner_id) if lead.owner_id else None
        try:
            composed = compose(self.renderer, self.identity, sequence, send.touch_index,
                               send.variant, lead, owner, msg_id, now, claim.id)
        except NurtureError as exc:
            recorder.render_failed(claim, sequence, facts, send, msg_id, str(exc), existing)
            return None
        envelope = Envelope(self.identity.sender_email, (lead.email,), composed.message, msg_id)
        return recorder.outbox(claim, sequence, facts, send, composed.subject, envelope, existing)

    async def _next_chunk(self, chunk: list[Pending], rest: list[Pending], now: datetime,
                          recorder: Recorder) -> bool:
        """Send `chunk` if the outbox can take it; False when sending stops for now (what is
        left was put off)."""
        refusal = await self._check_outbox()
        if refusal is not None and refusal.outcome is Outcome.SENDER_REJECTED:
            self._pause(now, refusal.reason, chunk + rest, recorder)
            return False
        if refusal is not None:
            self._hold(now, refusal, chunk + rest, recorder)
            return False
        failure = await self._send_chunk(chunk, recorder)
        if recorder.sender_rejection:
            self._pause(now, recorder.sender_rejection, rest, recorder)
            return False
        if failure is not None:
            self._hold(now, failure, rest, recorder)
            return False
        self.holds.sent(now)
        return True

    async def _send_chunk(self, chunk: list[Pending], recorder: Recorder) -> Delivery | None:
        """Mark `chunk` sending, send it, take the answers; returns one of its answers when
        the server failed the whole chunk (its touches are then held like the rest, at no
        attempt)."""
        ready = recorder.mark_sending(chunk)
        deliveries = await asyncio.gather(*(self._deliver(p.envelope) for p in ready))
        failure = server_failure(deliveries)
        until = self.holds.next_try(recorder.now) if failure else None
        recorder.record_deliveries(list(zip(ready, deliveries, strict=True)), held_until=until)
        return failure

    async def _check_outbox(self) -> Delivery | None:
        """Whether the outbox can take mail, asked before anything is marked `sending`.
        Transports that cannot tell (wrappers in tests and benchmarks) are taken at their
        word when they answer."""
        if not isinstance(self.transport, Checked):
            return None
        return await self.transport.check()

    def _hold(self, now: datetime, failure: Delivery, rest: list[Pending],
              recorder: Recorder) -> None:
        until = self.holds.hold(now, failure)
        recorder.postpone(rest, until, f"sending held back: {failure.reason}")

    async def _deliver(self, envelope: Envelope) -> Delivery:
        """The transport's answer. A transport never raises for a mail problem; if one raises
        anyway (a bug), the touch is retried like a temporary failure — counted, so it ends
        failed after max_attempts — and the rest of the chunk is recorded as usual."""
        try:
            return await self.transport.send(envelope)
        except Exception as exc:
            log.exception("the %s transport raised sending %s", self.transport.name,
                          envelope.message_id)
            return Delivery(Outcome.RETRY, f"internal error in the {self.transport.name} "
                                           f"transport: {type(exc).__name__}: {exc}")

    def _pause(self, now: datetime, reason: str, rest: list[Pending], recorder: Recorder) -> None:
        self.paused_until = now + self.config.sender_pause
        self.pause_reason = reason
        log.error("the mail server rejected the sender (%s); sending paused until %s",
                  reason, self.paused_until.isoformat())
        recorder.postpone(rest, self.paused_until, f"sending paused: {reason}")

