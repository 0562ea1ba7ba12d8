"""What the recipient of each email did, kept on its outbox row as bits (`Outbox.outcomes`), and
what each email handed to the mail server adds to DailyEmails.

An email counts as sent when the mail server took it (status "sent", on the day of `sent_at`)
or refused it with a bounce (status "failed" with a bounced event naming it, on the day of
`created_at`). An outcome (opened, clicked, replied, unsubscribed, bounced) counts once per
email, from events by people. An event that names no email is credited to the last email sent
to its lead at or before it.

Events set bits as they are recorded (`note_events`, once per batch of events); an email
handed over is counted with the bits it has (`note_handed`); `refresh` recomputes the bits of
some leads' emails from their events (when a send changes which email an event is credited to).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    Integer,
    Select,
    bindparam,
    case,
    func,
    literal,
    select,
    text,
    union_all,
    update,
)

from nurture.store.models import Enrollment, Event, Outbox
from nurture.store.sql import in_list, unindexed
from nurture.store.tallies import EMAILS, Deltas, day_of

OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
EVENTS = Event.__table__  # type: ignore[attr-defined]
ENROLLMENTS = Enrollment.__table__  # type: ignore[attr-defined]
BITS = {"opened": 1, "clicked": 2, "replied": 4, "unsubscribed": 8, "bounced": 16}
BOUNCE_SEEN = 32  # a bounced event names the email, by a person or not: a refusal counts as sent
COUNTED = tuple(BITS)
HANDED = ("sent", "failed")

# What counting an email reads: its row, with its sequence.
SEQUENCE = (select(ENROLLMENTS.c.sequence_id).where(ENROLLMENTS.c.id == OUTBOX.c.enrollment_id)
            .scalar_subquery().label("sequence_id"))
COUNTING = (OUTBOX.c.id, OUTBOX.c.lead_id, OUTBOX.c.status, OUTBOX.c.outcomes, OUTBOX.c.sent_at,
            OUTBOX.c.created_at, OUTBOX.c.touch_index, OUTBOX.c.variant, OUTBOX.c.subject,
            SEQUENCE)


def contribution(status: str, outcomes: int) -> tuple[int, ...] | None:
    """What an email adds to DailyEmails.sums (sent, bounced, opened, clicked, replied,
    unsubscribed); None while it is not handed over."""
    if status not in HANDED:
        return None
    sent = status == "sent" or bool(outcomes & BOUNCE_SEEN)
    return (int(sent), *(int(bool(outcomes & BITS[kind]))
                         for kind in ("bounced", "opened", "clicked", "replied", "unsubscribed")))


def count_change(deltas: Deltas, email: Any, outcomes_before: int | None) -> None:
    """Add to `deltas` what changed in DailyEmails since `email` (a row of COUNTING) had
    `outcomes_before` (None: it was not counted at all)."""
    at = email.sent_at if email.status == "sent" else email.created_at
    key = (day_of(at), email.sequence_id, email.touch_index, email.variant)
    count_emails(deltas, key, email.status, email.outcomes, email.subject)
    if outcomes_before is not None:
        count_emails(deltas, key, email.status, outcomes_before, None, -1)


def count_emails(deltas: Deltas, key: tuple[Any, ...], status: str, outcomes: int,
                 subject: str | None, n: int = 1) -> None:
    """Add `n` emails of `status` and `outcomes` to DailyEmails under `key` (day, sequence,
    touch, variant); a negative `n` takes them back. `subject` is one of theirs."""
    counts = contribution(status, outcomes)
    if counts is not None:
        deltas.add(EMAILS, key, tuple(n * c for c in counts),
                   least=(subject,) if counts[0] and n > 0 else ())


def note_events(connection: Connection, events: Iterable[Any]) -> None:
    """Set the bits that these stored events (with lead_id, outbox_id, type, at and machine)
    give their emails, and count what changes: the emails locked and read in one statement,
    those that change written in one more."""
    targets: dict[int, int] = {}  # email id → bits to set
    for event in events:
        bits = _bits(event)
        email = event.outbox_id if event.outbox_id is not None or not bits else \
            connection.execute(_CREDITED, {"lead": event.lead_id, "at": event.at}).scalar()
        if bits and email is not None:
            targets[email] = targets.get(email, 0) | bits
    if not targets:
        return
    if connection.dialect.name == "postgresql":
        _add_outcomes_pg(connection, targets)
        return
    emails = connection.execute(_LOCKED_SQLITE, {"emails": sorted(targets)})
    _set_outcomes(connection, [(email, email.outcomes | targets[email.id]) for email in emails])


def _add_outcomes_pg(connection: Connection, targets: dict[int, int]) -> None:
    """note_events' writes on PostgreSQL: the emails locked, given their new bits and read
    back with their bits before, in one statement (the tracking path runs it per batch of hits),
    then the changes counted."""
    deltas = Deltas()
    emails = sorted(targets)
    for email in connection.execute(_ADD_OUTCOMES_PG, {
            "emails": emails, "bits": [targets[email] for email in emails]}):
        count_change(deltas, email, email.before)
    deltas.write(connection)


def _set_outcomes(connection: Connection, new: Iterable[tuple[Any, int]]) -> None:
    """Give each email (a locked COUNTING row) its new outcome bits, and count what changed:
    on PostgreSQL in one statement (an executemany is a round trip per row), on SQLite as an
    executemany."""
    deltas, outcomes = Deltas(), {}
    for email, bits in new:
        if bits != email.outcomes:
            outcomes[email.id] = bits
            count_change(deltas, SimpleNamespace(**{**email._asdict(), "outcomes": bits}),
                         email.outcomes)
    deltas.write(connection)
    if not outcomes:
        return
    if connection.dialect.name == "postgresql":
        connection.execute(_SET_OUTCOMES_PG, {"emails": list(outcomes),
                                              "outcomes": list(outcomes.values())})
    else:
        connection.execute(_SET_OUTCOMES, [{"email": email, "new_outcomes": bits}
                                           for email, bits in outcomes.items()])


def _bits(event: Any) -> int:
    bits = 0
    if event.type == "bounced" and event.outbox_id is not None:
        bits |= BOUNCE_SEEN
    if event.type in BITS and not event.machine:
        bits |= BITS[event.type]
    return bits


def credited_email(lead_id: ColumnElement[int], at: ColumnElement[datetime]) -> Any:
    """SQL: the last email sent to the lead at or before `at` (an event naming no email)."""
    earlier = OUTBOX.alias("earlier")
    return (select(earlier.c.id).where(earlier.c.lead_id == lead_id, earlier.c.sent_at <= at)
            .order_by(earlier.c.sent_at.desc(), earlier.c.id.desc()).limit(1)
            .scalar_subquery())


_CREDITED = select(credited_email(bindparam("lead"),
                                  bindparam("at", type_=OUTBOX.c.sent_at.type)))
# SQLite (PostgreSQL uses _ADD_OUTCOMES_PG): the transaction holds the write lock already.
_LOCKED_SQLITE = (select(*COUNTING).where(in_list(OUTBOX.c.id, "emails", "sqlite"))
                  .order_by(OUTBOX.c.id))
_SET_OUTCOMES = (update(OUTBOX).where(OUTBOX.c.id == bindparam("email"))
                 .values(outcomes=bindparam("new_outcomes")))
_SET_OUTCOMES_PG = text(
    "UPDATE outbox SET outcomes = new.outcomes FROM unnest(:emails, :outcomes) "
    "AS new(id, outcomes) WHERE outbox.id = new.id").bindparams(
    bindparam("emails", type_=ARRAY(Integer())), bindparam("outcomes", type_=ARRAY(Integer())))


# The rows locked in id order, and only those whose bits change written.
_ADD_OUTCOMES_PG = text(
    "UPDATE outbox SET outcomes = locked.outcomes | new.bits "
    "FROM (SELECT id, outcomes FROM outbox WHERE id = ANY(:emails) ORDER BY id FOR UPDATE) "
    "AS locked, unnest(:emails, :bits) AS new(id, bits) "
    "WHERE outbox.id = locked.id AND new.id = locked.id "
    "AND locked.outcomes | new.bits <> locked.outcomes "
    "RETURNING outbox.id, outbox.lead_id, outbox.status, outbox.outcomes, outbox.sent_at, "
    "outbox.created_at, outbox.touch_index, outbox.variant, outbox.subject, "
    "(SELECT sequence_id FROM enrollment WHERE enrollment.id = outbox.enrollment_id) "
    "AS sequence_id, locked.outcomes AS before").bindparams(
    bindparam("emails", type_=ARRAY(Integer())), bindparam("bits", type_=ARRAY(Integer()))
).columns(*COUNTING[:-1], ENROLLMENTS.c.sequence_id, OUTBOX.c.outcomes.label("before"))


def note_handed(connection: Connection, emails: Sequence[Any]) -> None:
    """Count emails (rows of COUNTING) just handed over, with the bits they already have; then,
    if one was sent before an event already stored that names no email, recount that lead."""
    deltas = Deltas()
    for email in emails:
        count_change(deltas, email, None)
    deltas.write(connection)
    sent = [email for email in emails if email.status == "sent"]
    if sent:
        dialect = connection.dialect.name
        leads = connection.execute(
            select(EVENTS.c.lead_id).distinct()
            .where(in_list(EVENTS.c.lead_id, "leads", dialect), EVENTS.c.outbox_id.is_(None),
                   EVENTS.c.type.in_(COUNTED), EVENTS.c.machine.is_(False),
                   EVENTS.c.at >= bindparam("since", type_=EVENTS.c.at.type)),
            {"leads": sorted({e.lead_id for e in sent}),
             "since": min(e.sent_at for e in sent)}).scalars().all()
        if leads:
            refresh(connection, leads)


def outcome_bits(lead_ids: ColumnElement[bool] | None = None) -> Select:
    """(email, bits) for every email with an outcome, from the events (of the leads that
    `lead_ids`, a condition on EVENTS.lead_id, selects); a row with no email holds the bits of
    events credited to none."""
    human = case({kind: bit for kind, bit in BITS.items()}, value=EVENTS.c.type)
    named = (select(EVENTS.c.outbox_id.label("email"),
                    case((EVENTS.c.machine, 0), else_=human).label("bit"),
                    case((EVENTS.c.type == "bounced", BOUNCE_SEEN), else_=0).label("seen"))
             .where(EVENTS.c.outbox_id.is_not(None), EVENTS.c.type.in_(COUNTED)))
    credited = (select(credited_email(EVENTS.c.lead_id, EVENTS.c.at).label("email"),
                       human.label("bit"), literal(0).label("seen"))
                # Not through the outbox_id index: most events name no email (page visits).
                .where(unindexed(EVENTS.c.outbox_id).is_(None), EVENTS.c.type.in_(COUNTED),
                       EVENTS.c.machine.is_(False)))
    if lead_ids is not None:
        named, credited = named.where(lead_ids), credited.where(lead_ids)
    found = union_all(named, credited).subquery("found")
    return (select(found.c.email, (func.sum(found.c.bit.distinct())
                                   + func.max(found.c.seen)).label("bits"))
            .group_by(found.c.email))  # (and a None email: events credited to none)


def refresh(connection: Connection, lead_ids: Sequence[int]) -> None:
    """Recompute the bits of these leads' emails from their events; count what changes."""
    dialect = connection.dialect.name
    bound = {"leads": list(lead_ids)}
    emails = connection.execute(  # locked first: the events read next are then all there
        select(*COUNTING).where(in_list(OUTBOX.c.lead_id, "leads", dialect))
        .with_for_update(), bound).all()
    computed = {email: bits for email, bits in connection.execute(
        outcome_bits(in_list(EVENTS.c.lead_id, "leads", dialect)), bound)}
    _set_outcomes(connection, [(email, int(computed.get(email.id, 0))) for email in emails])
