"""The world of world.py written the way the engine writes it — leads upserted, stage moves
recorded, emails through the dispatcher's outbox writes, engagement through `record_event` —
so the reports read summaries the writers kept, never rebuilt. `summary_state` is everything
those summaries hold, to compare with what a rebuild makes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlmodel import Session

from nurture.core.rules import Move
from nurture.engine.events import NewEvent, record_event
from nurture.engine.stages import LeadMoves, record_moves
from nurture.engine.writes import Writes
from nurture.files.leads_csv import LeadRow
from nurture.files.loader import Project
from nurture.reports.rebuild import rebuild
from nurture.store.engine import writing
from nurture.store.leads import upsert_leads
from nurture.store.models import Enrollment, Lead, LeadTally, Outbox, StageEntry
from nurture.store.queue import Claimed
from nurture.store.tallies import DAILY
from tests.reports.world import EMAILS, LEADS, OWNED_BY_RITA, PIPELINE, UNSUBSCRIBED, add_rita

PROJECT = Project(pipeline=PIPELINE, sequences=[])
LEAD_TABLE = Lead.__table__  # type: ignore[attr-defined]
OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
ENROLLMENTS = Enrollment.__table__  # type: ignore[attr-defined]


def seed_written(engine: Engine) -> dict[str, int]:
    """Write the world through the writers; lead ids by name, and the rep's as "rita"."""
    with writing(engine) as connection, Session(bind=connection) as session:
        ids = {"rita": add_rita(session)}
    for name, (created, stage, source, industry, value, *_) in LEADS.items():
        with writing(engine) as connection:
            upsert_leads(connection, [LeadRow(email=f"{name}@example.com", source=source,
                                              industry=industry, deal_value=value)],
                         stage, created)
            ids[name] = connection.execute(select(LEAD_TABLE.c.id).where(
                LEAD_TABLE.c.email == f"{name}@example.com")).scalar_one()
    for name, email in EMAILS.items():
        send(engine, ids, name, email)
    with writing(engine) as connection:
        lead, at = UNSUBSCRIBED
        record_event(connection, PROJECT, NewEvent(ids[lead], "unsubscribed", at, {}))
    for name, (*_, moves) in LEADS.items():
        for to_stage, at in moves:
            with writing(engine) as connection:
                move(connection, ids[name], to_stage, at)
    with writing(engine) as connection:
        _settle_leads(connection, ids)
    return ids


def move(connection: Connection, lead_id: int, to_stage: str, at: datetime) -> None:
    """Record one move as the rules would, and write the lead's new columns."""
    lead = connection.execute(select(LEAD_TABLE).where(LEAD_TABLE.c.id == lead_id)).one()
    decided = Move(lead.stage, to_stage, None, "test", "move",
                   disqualify=to_stage == "disqualified")
    writes = record_moves(connection, [LeadMoves(lead, [decided], at, 0.0, 0.0)], "test")
    connection.execute(update(LEAD_TABLE).where(LEAD_TABLE.c.id == lead_id)
                       .values(**writes.lead_values[lead_id]))


def send(engine: Engine, ids: dict[str, int], name: str, email: tuple[Any, ...]) -> None:
    """An email as in world.EMAILS: the outbox row written when the touch was planned, then
    the mail server's answer, then what the recipient did."""
    lead, sequence, touch, variant, status, sent, events = email
    attempted = sent or (events[0][1] if events else LEADS[lead][0])
    planned = attempted - timedelta(minutes=1)
    with writing(engine) as connection:
        enrollment = connection.execute(select(ENROLLMENTS.c.id).where(
            ENROLLMENTS.c.lead_id == ids[lead], ENROLLMENTS.c.sequence_id == sequence)).scalar()
        if enrollment is None:
            created = LEADS[lead][0]
            enrollment = connection.execute(insert(ENROLLMENTS).values(
                lead_id=ids[lead], sequence_id=sequence, stage="new", stage_entered_at=created,
                created_at=created, updated_at=created, status="finished")
            ).inserted_primary_key[0]
        claim = Claimed(enrollment, ids[lead], sequence, "new", touch, planned, planned, "lease")
        plan = Writes(planned)
        plan.add_outbox(claim, f"<{name}@test>", subject=f"{name} subject {variant}",
                        variant=variant, status="pending")
        outbox_id = plan.flush(connection).outbox_ids[(enrollment, touch)]
    answer = Writes(attempted)
    if status == "sent":
        answer.change_outbox(outbox_id, status="sent", sent_at=sent, reason=None)
        answer.add_event(ids[lead], "sent", outbox_id, {})
    elif status == "failed":
        events = events[1:]  # the first is the refusal, a hard bounce
        answer.change_outbox(outbox_id, status="failed", reason="550 no such user")
        answer.add_event(ids[lead], "bounced", outbox_id, {"kind": "hard"})
    else:
        answer.change_outbox(outbox_id, status=status, reason="test")
    with writing(engine) as connection:
        answer.flush(connection)
    for kind, at, machine in events:
        with writing(engine) as connection:
            record_event(connection, PROJECT, NewEvent(ids[lead], kind, at, {},
                                                       outbox_id=outbox_id, machine=machine))


def _settle_leads(connection: Connection, ids: dict[str, int]) -> None:
    """The lead columns world.py gives each lead (events and moves changed some)."""
    for name, (created, stage, _, _, _, status, moves) in LEADS.items():
        current, entered = moves[-1] if moves else (stage, created)
        gone = current == "disqualified"
        connection.execute(update(LEAD_TABLE).where(LEAD_TABLE.c.id == ids[name]).values(
            stage=stage if gone else current, status=status,
            stage_entered_at=created if gone else entered,
            owner_id=ids["rita"] if name in OWNED_BY_RITA else None))


def summary_state(engine: Engine) -> dict[str, Any]:
    """Every summary the reports read; the Daily* tables as their sums per key (pending and
    folded rows added up, keys that add up to nothing left out)."""
    entry, tally = StageEntry.__table__, LeadTally.__table__  # type: ignore[attr-defined]
    with engine.connect() as connection:
        state: dict[str, Any] = {
            "stage_entry": _rows(connection, select(*(c for c in entry.c if c.name != "id"))
                                 .order_by(entry.c.lead_id, entry.c.seq)),
            "lead_tally": _rows(connection, select(tally).order_by(tally.c.lead_id)),
            "visited": _rows(connection, select(LEAD_TABLE.c.id, LEAD_TABLE.c.visited)
                             .order_by(LEAD_TABLE.c.id)),
            "outcomes": _rows(connection, select(OUTBOX.c.id, OUTBOX.c.outcomes)
                              .order_by(OUTBOX.c.id)),
        }
        for daily in DAILY:
            table = daily.table
            keys = [table.c[k] for k in daily.keys]
            totals = [func.sum(table.c[s]) for s in daily.sums]
            state[table.name] = {
                tuple(row[:len(keys)]): tuple(row[len(keys):])
                for row in connection.execute(
                    select(*keys, *totals, *(func.min(table.c[c]) for c in daily.least))
                    .group_by(*keys))
                if any(row[len(keys):len(keys) + len(totals)])}
    return state


def rebuilt_state(engine: Engine) -> dict[str, Any]:
    """Rebuild the summaries from the raw history; then summary_state."""
    with writing(engine) as connection:
        rebuild(connection)
    return summary_state(engine)


def _rows(connection: Connection, query: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in connection.execute(query)]
