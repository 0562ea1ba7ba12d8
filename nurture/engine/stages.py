"""Moving leads between stages, by rule or by hand, and writing down why.

A move is a StageChange row (rule, reason, score before and after) and a `stage_changed`
event; the lead's open enrollments stop ("stage_changed"), it enters the new stage now and is
flagged for the enrollment sweep, which enrolls it in the new stage's sequences. A rule with
`handoff = true` also records a `handoff_requested` event {"rule", "from", "to"}: the handoff
to a rep starts from those events. A disqualification sets the status to "disqualified"
(which stops all mail); a recycle brings a disqualified lead back to "active".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from nurture.core.errors import NurtureError
from nurture.core.rules import Move, move_action
from nurture.engine.bulk import insert_rows
from nurture.engine.enroll import ENROLLMENTS
from nurture.engine.scoring import decayed_score
from nurture.files.loader import Project
from nurture.store.handoff_channel import announce_handoffs
from nurture.store.lead_paths import refresh as refresh_paths
from nurture.store.models import Event, Lead, StageChange

LEADS = Lead.__table__  # type: ignore[attr-defined]
EVENTS = Event.__table__  # type: ignore[attr-defined]
STAGE_CHANGES = StageChange.__table__  # type: ignore[attr-defined]
# Rows written in one statement per table (nurture.engine.bulk): a sweep moves thousands.
CHANGE_COLUMNS = ("lead_id", "from_stage", "to_stage", "at", "rule", "reason", "score_before",
                  "score_after")
EVENT_COLUMNS = ("lead_id", "type", "at", "data", "outbox_id", "source", "client_id",
                 "machine")
MAILABLE = ("active", "paused")
OPEN = ("active", "paused")  # enrollments still running


class MoveRefused(NurtureError):  # noqa: N818 - reads as what it is
    """A manual move that cannot be made: no such stage, or the lead is already there."""


@dataclass(frozen=True)
class LeadMoves:
    """The moves decided for one lead, with its score (unchanged by moving) at the time."""

    lead: Any  # a Lead or a lead row, as read before the moves
    moves: list[Move]
    at: datetime
    score_before: float
    score_after: float


@dataclass
class MoveWrites:
    """What recording moves changed on each lead, for the caller's one UPDATE per lead."""

    lead_values: dict[int, dict[str, Any]] = field(default_factory=dict)
    stage_changes: int = 0
    handoffs: int = 0


def record_moves(connection: Connection, decided: list[LeadMoves], source: str) -> MoveWrites:
    """Write the StageChange rows and events of `decided` (and the reports' summary of the
    leads moved) and stop the enrollments the moves end; the new lead columns (`visited`
    among them) are returned, not written (the caller updates each lead once)."""
    writes = MoveWrites()
    changes: list[tuple[Any, ...]] = []  # CHANGE_COLUMNS
    events: list[tuple[Any, ...]] = []  # EVENT_COLUMNS
    stopped: list[tuple[int, str, datetime]] = []
    for item in decided:
        if not item.moves:
            continue
        lead, now = item.lead, item.at
        values: dict[str, Any] = {"stage": lead.stage, "status": lead.status}
        for move in item.moves:
            changes.append((lead.id, move.from_stage, move.to_stage, now, move.rule,
                            move.reason, item.score_before, item.score_after))
            if move.to_stage != move.from_stage:
                values.update(stage=move.to_stage, stage_entered_at=now, needs_enrollment=True)
                events.append(_event(lead.id, "stage_changed", now, source, {
                    "from": move.from_stage, "to": move.to_stage, "rule": move.rule,
                    "reason": move.reason}))
            if move.handoff:
                writes.handoffs += 1
                events.append(_event(lead.id, "handoff_requested", now, source, {
                    "rule": move.rule, "from": move.from_stage, "to": move.to_stage}))
            values["status"] = _status_after(move, values["status"])
        if values["stage"] != lead.stage:
            stopped.append((lead.id, "stage_changed", now))
        elif values["status"] == "disqualified" != lead.status:
            stopped.append((lead.id, "disqualified", now))
        writes.lead_values[lead.id] = values
    if changes:
        insert_rows(connection, STAGE_CHANGES, CHANGE_COLUMNS, changes)
        writes.stage_changes = len(changes)
        # The reports' summary of these leads; their new `visited` goes into the caller's one
        # UPDATE per lead with the rest of lead_values.
        for lead_id, visited in refresh_paths(connection, writes.lead_values,
                                              write_visited=False).items():
            writes.lead_values[lead_id]["visited"] = visited
    if events:
        insert_rows(connection, EVENTS, EVENT_COLUMNS, events)
    if writes.handoffs:  # whichever path moved the lead: API, tracking hit, sweep, mailbox
        announce_handoffs(connection)
    for reason, now in {(reason, now) for _, reason, now in stopped}:
        _stop_open_enrollments(connection, [lead_id for lead_id, why, at in stopped
                                            if (why, at) == (reason, now)], reason, now)
    return writes


def move_lead(connection: Connection, project: Project, lead_id: int, to_stage: str,
              reason: str, now: datetime, source: str = "manual") -> Move | None:
    """Move a lead by hand; None when there is no such lead. The rules look at it again at the
    next sweep (their cool-down keeps it from being sent straight back)."""
    lead = connection.execute(select(LEADS).where(LEADS.c.id == lead_id)
                              .with_for_update(key_share=True)).one_or_none()
    if lead is None:
        return None
    stages = [stage.id for stage in project.pipeline.stages]
    if to_stage not in stages:
        raise MoveRefused(f"no stage {to_stage!r} in pipeline.toml (stages: {', '.join(stages)})")
    if lead.stage == to_stage:
        raise MoveRefused(f"{lead.email} is already in stage {to_stage!r}")
    current = round(decayed_score(lead, project.pipeline.scoring, now), 4)
    move = Move(lead.stage, to_stage, None, f"moved by hand: {reason}",
                move_action(project.pipeline, lead.stage, to_stage))
    writes = record_moves(connection, [LeadMoves(lead, [move], now, current, current)], source)
    connection.execute(update(LEADS).where(LEADS.c.id == lead_id)
                       .values(**writes.lead_values[lead_id], rules_due_at=now))
    return move


def _stop_open_enrollments(connection: Connection, lead_ids: list[int], reason: str,
                           now: datetime) -> None:
    """enroll.stop_enrollments for many leads in one statement (a sweep moves hundreds)."""
    for start in range(0, len(lead_ids), 1000):
        connection.execute(
            update(ENROLLMENTS)
            .where(ENROLLMENTS.c.lead_id.in_(lead_ids[start:start + 1000]),
                   ENROLLMENTS.c.status.in_(OPEN))
            .values(status="stopped", stop_reason=reason, next_touch_at=None, updated_at=now,
                    lease_token=None, lease_expires_at=None, claimed_by=None))


def _status_after(move: Move, status: str) -> str:
    if move.disqualify and status in MAILABLE:
        return "disqualified"
    if move.action == "recycle" and status == "disqualified":
        return "active"
    return status


def _event(lead_id: int, kind: str, at: datetime, source: str,
           data: dict[str, Any]) -> tuple[Any, ...]:
    # Inserted directly, not through record_event: bookkeeping, not engagement, so it neither
    # scores nor sets off the rules again.
    return (lead_id, kind, at, data, None, source, None, False)  # EVENT_COLUMNS
