"""Notices: emails to reps and the manager, and webhook POSTs, as durable rows.

A notice is written (rendered, whole) in the transaction that decides it, under a unique key,
so a decision retried or taken by two workers yields one notice. `deliver_due` then claims
due notices under a lease (FOR UPDATE SKIP LOCKED on PostgreSQL), sends them, and records each
outcome; a failure is retried at the next call after an exponential backoff, never by
sleeping, until MAX_ATTEMPTS.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from markupsafe import escape
from sqlalchemy import Connection, Engine, or_, select, update

from nurture.core.errors import NurtureError
from nurture.engine.notes import NoteRenderer, note_message, note_renderer
from nurture.engine.webhooks import post_webhook, webhook_client
from nurture.mail.transport import Envelope, Outcome, Transport
from nurture.settings import Settings
from nurture.store.engine import writing
from nurture.store.models import Notice
from nurture.store.sql import dialect_insert

NOTICES = Notice.__table__  # type: ignore[attr-defined]
MAX_ATTEMPTS = 10
RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=1)
LEASE = timedelta(minutes=2)
log = logging.getLogger("nurture.notices")


@dataclass
class RunReport:
    """What one run of run_handoffs, run_sla or run_digests did: what happened, by outcome,
    and the notices it delivered (this run's and earlier ones due), by delivery outcome."""

    outcomes: Counter[str] = field(default_factory=Counter)
    notices: Counter[str] = field(default_factory=Counter)

    def __str__(self) -> str:
        parts = [f"{k} {v}" for k, v in sorted(self.outcomes.items())]
        parts += [f"notices {k} {v}" for k, v in sorted(self.notices.items())]
        return ", ".join(parts) or "nothing to do"


def retry_delay(attempts: int) -> timedelta:
    """Wait after the `attempts`-th failure: 30 s, 1 min, 2 min, … at most an hour."""
    return min(RETRY_CAP, RETRY_BASE * 2 ** (attempts - 1))


@dataclass(frozen=True)
class Note:
    """An email note about to be written: who it is for, about what, from which template."""

    key: str
    purpose: str
    to: tuple[str, str]  # (name, email)
    subject: str
    template: str
    variables: dict[str, Any]
    rep_id: int | None = None
    lead_id: int | None = None


class NoticeWriter:
    """Writes notices for one run at `now`."""

    def __init__(self, settings: Settings, now: datetime) -> None:
        self.settings, self.now = settings, now

    @property
    def renderer(self) -> NoteRenderer:
        return note_renderer(self.settings.templates_dir.resolve())

    def email(self, connection: Connection, note: Note) -> bool:
        """Render and write an email notice; False if one with this key exists. A template
        that fails still gives the rep a plain note naming the failure."""
        try:
            html, text = self.renderer.email(note.template, note.variables)
        except NurtureError as exc:
            log.error("%s: %s; sending a plain note instead", note.template, exc)
            text = f"{note.subject}\n\n(The template {note.template} failed: {exc})\n"
            html = f"<pre>{escape(text)}</pre>"
        message_id = f"<{note.purpose}.{_digest(note.key)}@{self._domain}>"
        message = note_message(sender=(self.settings.sender.name, self.settings.sender.email),
                               to=note.to, subject=note.subject, html=html, text=text,
                               message_id=message_id, date=self.now)
        return self._write(connection, key=note.key, kind="email", purpose=note.purpose,
                           rep_id=note.rep_id, lead_id=note.lead_id, recipient=note.to[1],
                           message_id=message_id, body=message.decode("ascii"))

    def webhook(self, connection: Connection, *, key: str, purpose: str, template: str,
                variables: dict[str, Any], lead_id: int | None = None) -> bool:
        """Write a Slack-compatible webhook notice, if a webhook is configured."""
        if not self.settings.handoff.webhook_url:
            return False
        try:
            text = self.renderer.chat(template, variables)
        except NurtureError as exc:
            log.error("%s: %s; the webhook gets the error instead", template, exc)
            text = f"(the template {template} failed: {exc})"
        body = json.dumps({"text": text}, ensure_ascii=False)
        return self._write(connection, key=key, kind="webhook", purpose=purpose, rep_id=None,
                           lead_id=lead_id, recipient="webhook",
                           message_id=f"msg_{_digest(key)}", body=body)

    def skipped(self, connection: Connection, *, key: str, purpose: str,
                rep_id: int | None) -> bool:
        """Record that there was nothing to say (e.g. an empty digest): the key is used up."""
        return self._write(connection, key=key, kind="email", purpose=purpose, rep_id=rep_id,
                           lead_id=None, recipient="", message_id="", body="",
                           status="skipped")

    @property
    def _domain(self) -> str:
        return self.settings.sender.email.rpartition("@")[2] or "localhost"

    def _write(self, connection: Connection, *, status: str = "pending", **values: Any) -> bool:
        statement = dialect_insert(connection, NOTICES).values(
            **values, status=status, attempts=0, created_at=self.now,
            next_attempt_at=self.now if status == "pending" else None,
        ).on_conflict_do_nothing(index_elements=[NOTICES.c.key]).returning(NOTICES.c.id)
        return connection.execute(statement).scalar() is not None


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class _Claimed:
    id: int
    kind: str
    recipient: str
    message_id: str
    body: str
    attempts: int
    token: str


async def deliver_due(engine: Engine, settings: Settings, transport: Transport, now: datetime,
                      *, batch: int = 50, rounds: int = 10) -> Counter[str]:
    """Send the notices due at `now`, `batch` at a time, while batches come back full (at
    most `rounds`); returns how many were sent, retried and given up."""
    outcomes: Counter[str] = Counter()
    for _ in range(rounds):
        claimed = _claim(engine, now, batch)
        if claimed:
            outcomes += await _deliver(engine, settings, transport, claimed, now)
        if len(claimed) < batch:
            break
    return outcomes


async def _deliver(engine: Engine, settings: Settings, transport: Transport,
                   claimed: list[_Claimed], now: datetime) -> Counter[str]:
    emails = [c for c in claimed if c.kind == "email"]
    hooks = [c for c in claimed if c.kind == "webhook"]
    results = list(await asyncio.gather(*(_send_email(settings, transport, c) for c in emails)))
    if hooks:
        async with webhook_client() as client:
            results += await asyncio.gather(*(post_webhook(client, settings, c.message_id,
                                                           c.body.encode(), now) for c in hooks))
    outcomes: Counter[str] = Counter()
    with writing(engine) as connection:
        for notice, (delivered, retry, reason) in zip([*emails, *hooks], results, strict=True):
            outcomes[_record(connection, notice, delivered, retry, reason, now)] += 1
    return outcomes


def _claim(engine: Engine, now: datetime, limit: int) -> list[_Claimed]:
    token = uuid.uuid4().hex
    due = (select(NOTICES.c.id)
           .where(NOTICES.c.status == "pending", NOTICES.c.next_attempt_at <= now,
                  or_(NOTICES.c.lease_expires_at.is_(None), NOTICES.c.lease_expires_at < now))
           .order_by(NOTICES.c.next_attempt_at).limit(limit))
    with writing(engine) as connection:
        if connection.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        rows = connection.execute(
            update(NOTICES).where(NOTICES.c.id.in_(due.scalar_subquery()))
            .values(lease_token=token, lease_expires_at=now + LEASE)
            .returning(NOTICES.c.id, NOTICES.c.kind, NOTICES.c.recipient, NOTICES.c.message_id,
                       NOTICES.c.body, NOTICES.c.attempts)).all()
    return sorted((_Claimed(**row._mapping, token=token) for row in rows), key=lambda c: c.id)


async def _send_email(settings: Settings, transport: Transport,
                      notice: _Claimed) -> tuple[bool, bool, str]:
    envelope = Envelope(settings.sender.email, (notice.recipient,), notice.body.encode("ascii"),
                        notice.message_id)
    delivery = await transport.send(envelope)
    return delivery.outcome is Outcome.SENT, delivery.outcome is Outcome.RETRY, delivery.reason


def _record(connection: Connection, notice: _Claimed, delivered: bool, retry: bool,
            reason: str, now: datetime) -> str:
    attempts = notice.attempts + 1
    values: dict[str, Any] = {"attempts": attempts, "lease_token": None,
                              "lease_expires_at": None}
    if delivered:
        values.update(status="sent", sent_at=now, next_attempt_at=None)
        outcome = "sent"
    elif retry and attempts < MAX_ATTEMPTS:
        values.update(next_attempt_at=now + retry_delay(attempts), last_error=reason)
        outcome = "retry"
    else:
        values.update(status="failed", next_attempt_at=None, last_error=reason)
        log.error("notice %s (%s to %s) given up after %d attempts: %s", notice.id,
                  notice.kind, notice.recipient, attempts, reason)
        outcome = "failed"
    connection.execute(update(NOTICES).where(NOTICES.c.id == notice.id,
                                             NOTICES.c.lease_token == notice.token)
                       .values(**values))
    return outcome
