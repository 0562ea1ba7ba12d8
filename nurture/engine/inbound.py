"""Applying one classified inbound message (from the IMAP poller or a provider's webhook): find
the email it is about and record what it means through `record_event`, once per message.

Matching, first hit wins: our Message-ID among the message's references (In-Reply-To,
References, the original inside a bounce or complaint) → that outbox row and its lead; a
plus-address tag → the outbox row whose Message-ID starts with it; else the address the
message is about (a bounce's Final-Recipient, a complaint's Original-Rcpt-To, a reply's From)
→ the lead with that email. No match: nothing is recorded (the caller counts and logs it).

Consequences:
- reply → `replied` (subject, snippet, negative): `record_event` stops the sequences whose
  stop_on names it. Account stop: for sequences with `account_stop = true`, the other leads at
  the replying lead's email domain (free-mail domains excepted) have their enrollments in
  those sequences pushed back ACCOUNT_PAUSE (30 days), keeping their position, and get an
  `account_paused` event saying who replied. A timed push rather than a `paused` status:
  it resumes by itself, needs no one to un-pause it, and leaves other sequences alone.
- auto-reply → `auto_replied`; the lead is paused (`paused_until`) until the start of the
  return date the message gives (UTC), else for AUTO_REPLY_PAUSE (7 days); not a reply.
- hard bounce → `bounced` kind hard: the lead is bounced and every enrollment stops.
- soft bounce → `bounced` kind soft; the `soft_bounce_limit`-th soft bounce since the lead's
  last engagement is recorded as hard instead (data.escalated), with the same consequences.
- complaint → `complained`: the lead is suppressed, and its address is added to the
  suppression list (reason "complaint"), which is checked again right before every send.
- unsubscribe request (our List-Unsubscribe mailto) → `unsubscribed` with data.via "mailto":
  the lead is unsubscribed and every enrollment stops. Matched by its From address only — the
  sender asks for their own address — and ignored when that lead is already unsubscribed.

Events are stamped `now`, when nurture learned of them; the message's own Date, which its
sender controls, is kept as data.sent_at. Idempotent: the main event carries source "inbound"
and the message's key as client_id (unique together), and a message whose key was already
recorded changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, or_, select, update

from nurture.engine.events import ENROLLMENTS, EVENTS, LEADS, NewEvent, record_event
from nurture.files.loader import Project
from nurture.mail.classify import Classified
from nurture.store.models import Outbox, Suppression
from nurture.store.sql import insert_ignoring_duplicates

log = logging.getLogger("nurture.inbound")
OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
SUPPRESSIONS = Suppression.__table__  # type: ignore[attr-defined]
SOURCE = "inbound"
MAX_REFERENCES = 50  # a thread's References can be long; ours are among the newest
AUTO_REPLY_PAUSE = timedelta(days=7)
ACCOUNT_PAUSE = timedelta(days=30)
# Addresses here belong to people, not companies: a reply says nothing about the others.
FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
    "yahoo.com", "ymail.com", "aol.com", "icloud.com", "me.com", "mac.com", "proton.me",
    "protonmail.com", "gmx.com", "gmx.de", "gmx.net", "web.de", "mail.com", "yandex.ru",
    "mail.ru", "qq.com", "163.com", "zoho.com", "fastmail.com", "hey.com",
})
Outcome = Literal["recorded", "duplicate", "unmatched", "ignored"]


@dataclass(frozen=True)
class Match:
    lead_id: int
    outbox_id: int | None
    how: str  # "message-id", "plus-address" or "address", for the event data and logs


@dataclass(frozen=True)
class Applied:
    """What applying one message did: the events it recorded (the main one first)."""

    outcome: Outcome
    event_ids: list[int] = field(default_factory=list)
    lead_id: int | None = None


def apply_inbound(connection: Connection, project: Project, classified: Classified,
                  now: datetime, *, soft_bounce_limit: int = 3) -> Applied:
    """Record what `classified` means, in the caller's transaction."""
    if classified.kind == "unknown":
        return Applied("ignored")
    if _already_recorded(connection, classified.key):
        return Applied("duplicate")
    match = (_match_address(connection, classified.sender)
             if classified.kind == "unsubscribe_request" else find_match(connection, classified))
    if match is None:
        return Applied("unmatched")
    data: dict[str, Any] = {
        "inbound_message_id": classified.key, "matched_by": match.how,
        "from": classified.sender, "subject": classified.subject,
        "sent_at": classified.sent_at.isoformat() if classified.sent_at else None,
    }
    if classified.kind == "reply":
        return _reply(connection, project, classified, match, data, now)
    if classified.kind == "auto_reply":
        return _auto_reply(connection, project, classified, match, data, now)
    if classified.kind == "complaint":
        return _complaint(connection, project, classified, match, data, now)
    if classified.kind == "unsubscribe_request":
        return _unsubscribe(connection, project, classified, match, data, now)
    return _bounce(connection, project, classified, match, data, now, soft_bounce_limit)


def find_match(connection: Connection, classified: Classified) -> Match | None:
    """The outbox row (and lead) the message is about, else the lead it names, else None."""
    ids = list(classified.referenced_message_ids[:MAX_REFERENCES])
    if ids:
        rows = {row.message_id: row for row in connection.execute(
            select(OUTBOX.c.id, OUTBOX.c.lead_id, OUTBOX.c.message_id)
            .where(OUTBOX.c.message_id.in_(ids)))}
        row = next((rows[i] for i in ids if i in rows), None)
        if row is not None:
            return Match(row.lead_id, row.id, "message-id")
    for tag in classified.plus_tags:
        row = connection.execute(
            select(OUTBOX.c.id, OUTBOX.c.lead_id)
            .where(OUTBOX.c.message_id.startswith(f"<{tag}@", autoescape=True))).first()
        if row is not None:
            return Match(row.lead_id, row.id, "plus-address")
    return _match_address(connection, classified.original_recipient)


def _match_address(connection: Connection, address: str | None) -> Match | None:
    """The lead whose email is `address`."""
    if not address:
        return None
    lead_id = connection.execute(select(LEADS.c.id).where(
        LEADS.c.email == address.lower())).scalar()
    return Match(lead_id, None, "address") if lead_id is not None else None


def _already_recorded(connection: Connection, key: str) -> bool:
    return connection.execute(select(EVENTS.c.id).where(
        EVENTS.c.source == SOURCE, EVENTS.c.client_id == key)).first() is not None


def _record(connection: Connection, project: Project, match: Match, kind: str,
            classified: Classified, data: dict[str, Any], now: datetime) -> int:
    return record_event(connection, project, NewEvent(
        lead_id=match.lead_id, type=kind, at=now, data=data, outbox_id=match.outbox_id,
        source=SOURCE, client_id=classified.key))


def _reply(connection: Connection, project: Project, classified: Classified, match: Match,
           data: dict[str, Any], now: datetime) -> Applied:
    data |= {"snippet": classified.snippet, "negative": classified.negative}
    event_id = _record(connection, project, match, "replied", classified, data, now)
    others = _pause_account(connection, project, match.lead_id, classified.sender, now)
    return Applied("recorded", [event_id, *others], match.lead_id)


def _auto_reply(connection: Connection, project: Project, classified: Classified,
                match: Match, data: dict[str, Any], now: datetime) -> Applied:
    back = classified.return_date
    until = datetime.combine(back, time(), tzinfo=UTC) if back else None
    if until is None or until <= now:
        until = now + AUTO_REPLY_PAUSE
    data |= {"return_date": back.isoformat() if back else None,
             "paused_until": until.isoformat(), "snippet": classified.snippet}
    event_id = _record(connection, project, match, "auto_replied", classified, data, now)
    connection.execute(update(LEADS).where(
        LEADS.c.id == match.lead_id,
        or_(LEADS.c.paused_until.is_(None), LEADS.c.paused_until < until),
    ).values(paused_until=until, updated_at=now))
    return Applied("recorded", [event_id], match.lead_id)


def _complaint(connection: Connection, project: Project, classified: Classified,
               match: Match, data: dict[str, Any], now: datetime) -> Applied:
    data |= {"reason": classified.reason}
    event_id = _record(connection, project, match, "complained", classified, data, now)
    email = connection.execute(select(LEADS.c.email).where(LEADS.c.id == match.lead_id)).scalar()
    if email:
        insert_ignoring_duplicates(connection, SUPPRESSIONS, {
            "value": email, "kind": "email", "reason": "complaint", "created_at": now})
    return Applied("recorded", [event_id], match.lead_id)


def _unsubscribe(connection: Connection, project: Project, classified: Classified,
                 match: Match, data: dict[str, Any], now: datetime) -> Applied:
    status = connection.execute(
        select(LEADS.c.status).where(LEADS.c.id == match.lead_id)).scalar()
    if status == "unsubscribed":
        log.info("lead %s asked by email to unsubscribe and already is", match.lead_id)
        return Applied("ignored", [], match.lead_id)
    data |= {"via": "mailto"}
    event_id = _record(connection, project, match, "unsubscribed", classified, data, now)
    return Applied("recorded", [event_id], match.lead_id)


def _bounce(connection: Connection, project: Project, classified: Classified, match: Match,
            data: dict[str, Any], now: datetime, soft_bounce_limit: int) -> Applied:
    data |= {"kind": "hard", "status": classified.status, "diagnostic": classified.diagnostic,
             "recipient": classified.original_recipient, "reason": classified.reason}
    if classified.kind == "soft_bounce":
        count = _soft_bounces(connection, match.lead_id) + 1
        data |= {"soft_bounces": count}
        if count >= soft_bounce_limit:
            data |= {"escalated": True}
            log.info("lead %s: soft bounce %s of %s, recorded as a hard bounce", match.lead_id,
                     count, soft_bounce_limit)
        else:
            data |= {"kind": "soft"}
    event_id = _record(connection, project, match, "bounced", classified, data, now)
    return Applied("recorded", [event_id], match.lead_id)


def _soft_bounces(connection: Connection, lead_id: int) -> int:
    """Soft bounces since the lead last showed a sign of life (they add up to a hard one)."""
    engaged = connection.execute(
        select(LEADS.c.last_engaged_at).where(LEADS.c.id == lead_id)).scalar()
    query = select(EVENTS.c.data).where(EVENTS.c.lead_id == lead_id, EVENTS.c.type == "bounced")
    if engaged is not None:
        query = query.where(EVENTS.c.at > engaged)
    return sum(1 for data in connection.execute(query).scalars()
               if isinstance(data, dict) and data.get("kind") == "soft")


def _pause_account(connection: Connection, project: Project, lead_id: int,
                   replier: str | None, now: datetime) -> list[int]:
    """Push back the account's other leads in account_stop sequences; their events' ids."""
    sequences = [s.id for s in project.sequences if s.account_stop]
    email = connection.execute(select(LEADS.c.email).where(LEADS.c.id == lead_id)).scalar()
    domain = str(email or "").rpartition("@")[2]
    if not sequences or not domain or domain in FREE_MAIL_DOMAINS:
        return []
    until = now + ACCOUNT_PAUSE
    rows = connection.execute(
        select(ENROLLMENTS.c.id, ENROLLMENTS.c.lead_id, ENROLLMENTS.c.sequence_id)
        .join(LEADS, LEADS.c.id == ENROLLMENTS.c.lead_id)
        .where(LEADS.c.email.endswith(f"@{domain}", autoescape=True), LEADS.c.id != lead_id,
               ENROLLMENTS.c.sequence_id.in_(sequences), ENROLLMENTS.c.status == "active",
               or_(ENROLLMENTS.c.next_touch_at.is_(None), ENROLLMENTS.c.next_touch_at < until))
    ).all()
    if not rows:
        return []
    connection.execute(update(ENROLLMENTS).where(ENROLLMENTS.c.id.in_([r.id for r in rows]))
                       .values(next_touch_at=until, updated_at=now))
    paused: dict[int, list[str]] = {}
    for row in rows:
        paused.setdefault(row.lead_id, []).append(row.sequence_id)
    log.info("%s replied: %d other leads at %s paused until %s", replier or email,
             len(paused), domain, until.isoformat())
    return [record_event(connection, project, NewEvent(
        lead_id=colleague, type="account_paused", at=now, source=SOURCE,
        data={"by": replier or email, "lead_id": lead_id, "sequences": sorted(ids),
              "until": until.isoformat()}))
        for colleague, ids in paused.items()]
