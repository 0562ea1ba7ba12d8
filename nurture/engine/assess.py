"""Assessing leads: score, fit, stage rules, and when to look again — one path for a lead an
event or a change just touched and for a batch of the rules sweep, so both decide alike.

The caller holds the leads' rows locked (FOR NO KEY UPDATE on PostgreSQL, the write lock on
SQLite) for the transaction, so what is decided from them is still true when it is written.
Each lead gets `rules_due_at`: the next instant a day count its stage's rules read ticks over,
its stage's time limit passes, a cool-down ends, or decay takes another DECAY_STEP points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from nurture.core.rules import Move, chain_moves, facts_read, next_evaluation
from nurture.core.scoring import decay_reaches
from nurture.engine.facts import StayFacts, condition_context, lead_fields, stay_facts
from nurture.engine.scoring import (
    DECAY_STEP,
    SCORE_CHANGES,
    Scored,
    decay,
    events_as_json,
    load_events,
    rescore,
    scored_events,
)
from nurture.engine.stages import LEADS, STAGE_CHANGES, LeadMoves, record_moves
from nurture.files.loader import Project

SENDING_FACTS = frozenset({"touches_sent", "sequence_finished"})
# Sending changes touches_sent and sequence_finished, not the clock: leads whose rules read them
# are looked at again at least this often (and at once when the dispatcher says it sent).
SENDING_RECHECK = timedelta(days=1)
MIN_GAP = timedelta(seconds=1)
RULES_SOURCE = "rules"
WHY_NEW = "scored from its history"
WHY_CHANGED = "rescored: the lead's fields changed"
_WRITTEN = ("score", "fit", "scored_at", "rules_due_at", "stage", "stage_entered_at",
            "needs_enrollment", "status", "last_engaged_at")
_UPDATE = (update(LEADS).where(LEADS.c.id == bindparam("lead_id"))
           .values({name: bindparam(f"new_{name}") for name in _WRITTEN}))
_NEW_SCORE_CHANGE = insert(SCORE_CHANGES)
# Most leads of a sweep only get their next look: a statement with one value binds faster.
_RESCHEDULE = (update(LEADS).where(LEADS.c.id == bindparam("lead_id"))
               .values(rules_due_at=bindparam("new_rules_due_at")))


@dataclass
class News:
    """What was just recorded for a lead: its new events (ids, in order: their own points
    explain the change of score), the latest human engagement among them, and why its score
    must be rebuilt from its events (None when none of them scores)."""

    event_ids: list[int] = field(default_factory=list)
    engaged_at: datetime | None = None
    why: str | None = None


@dataclass
class Assessed:
    """What an assessment did: leads looked at, scores rebuilt from events, score history rows
    written, stage changes and handoffs recorded, and the moves made (lead id, move)."""

    leads: int = 0
    rescored: int = 0
    score_changes: int = 0
    moves: int = 0
    handoffs: int = 0
    moved: list[tuple[int, Move]] = field(default_factory=list)


def assess(connection: Connection, project: Project, leads: Sequence[Any], now: datetime,
           news: Mapping[int, News] | None = None,
           recent: dict[int, tuple[str | None, datetime | None]] | None = None,
           history: Any = None) -> Assessed:
    """Score, grade and apply the rules to `leads` (locked lead rows) at `now`, and write it all.
    `news` is what was just recorded for some of them. A lead's score is rebuilt from its events
    when news says so or `rescore_reason` does, else decayed. For one lead, the caller may have
    read more with it: `recent`, its last move (stage left, when); `history`, its events
    (scoring.events_as_json)."""
    pipeline = project.pipeline
    news = news or {}
    why = {lead.id: reason for lead in leads
           if (reason := (news[lead.id].why if lead.id in news else None)
               or rescore_reason(lead))}
    if history is None:
        events = load_events(connection, pipeline.scoring, why)
    else:
        events = {lead.id: scored_events(history, pipeline.scoring) for lead in leads}
    stays = stay_facts(connection, [lead for lead in leads
                                    if SENDING_FACTS & facts_read(pipeline, lead.stage)])
    if recent is None:
        recent = _last_moves(connection, project, leads, now)
    verdicts = []
    for lead in leads:
        at = max(now, lead.stage_entered_at, lead.scored_at or now)  # never before what is known
        fields = lead_fields(lead)
        new = news.get(lead.id, _NOTHING_NEW)
        if lead.id in why:
            scored = rescore(lead, fields, events[lead.id], pipeline.scoring, at,
                             why[lead.id], new.event_ids)
        else:
            scored = decay(lead, pipeline.scoring, at)
        stay = stays.get(lead.id, StayFacts())
        score_now = round(scored.score, 4)
        engaged = max(filter(None, (lead.last_engaged_at, new.engaged_at)), default=None)
        context = condition_context(lead, at, touches_sent=stay.touches_sent,
                                    sequence_finished=stay.sequence_finished,
                                    score=score_now, fit=scored.fit, fields=fields,
                                    last_engaged_at=engaged)
        previous_stage, last_moved_at = recent.get(lead.id, (None, None))
        moves = chain_moves(pipeline, context, at,
                            (at - lead.stage_entered_at).total_seconds() / 86_400,
                            last_moved_at, previous_stage,
                            disqualified=lead.status == "disqualified")
        verdicts.append(_Verdict(lead, at, scored, LeadMoves(lead, moves, at, score_now, score_now),
                                 previous_stage, last_moved_at, engaged))
    return _write(connection, project, verdicts, len(why))


@dataclass
class _Verdict:
    lead: Any
    at: datetime
    scored: Scored
    moves: LeadMoves
    previous_stage: str | None
    last_moved_at: datetime | None
    last_engaged_at: datetime | None


def _write(connection: Connection, project: Project, verdicts: list[_Verdict],
           rescored: int) -> Assessed:
    writes = record_moves(connection, [v.moves for v in verdicts if v.moves.moves], RULES_SOURCE)
    changes = [row for v in verdicts for row in v.scored.changes]
    if changes:
        connection.execute(_NEW_SCORE_CHANGE, changes)
    changed, rescheduled = [], []
    for verdict in verdicts:
        row = _lead_row(project, verdict, writes.lead_values.get(verdict.lead.id))
        if _changes(verdict.lead, row):
            changed.append(row)
        else:
            rescheduled.append({"lead_id": row["lead_id"],
                                "new_rules_due_at": row["new_rules_due_at"]})
    if changed:
        connection.execute(_UPDATE, changed)
    if rescheduled:
        connection.execute(_RESCHEDULE, rescheduled)
    return Assessed(leads=len(verdicts), rescored=rescored, score_changes=len(changes),
                    moves=writes.stage_changes, handoffs=writes.handoffs,
                    moved=[(v.lead.id, move) for v in verdicts for move in v.moves.moves])


def _lead_row(project: Project, verdict: _Verdict, moved: dict[str, Any] | None
              ) -> dict[str, Any]:
    lead, scored = verdict.lead, verdict.scored
    values = {"score": round(scored.stored_score, 4), "fit": scored.fit,
              "scored_at": scored.scored_at, "stage": lead.stage,
              "stage_entered_at": lead.stage_entered_at,
              "needs_enrollment": lead.needs_enrollment, "status": lead.status,
              "last_engaged_at": verdict.last_engaged_at, **(moved or {})}
    previous_stage, last_moved_at = verdict.previous_stage, verdict.last_moved_at
    stage_moves = [m for m in verdict.moves.moves if m.to_stage != m.from_stage]
    if stage_moves:
        previous_stage, last_moved_at = stage_moves[-1].from_stage, verdict.at
    values["rules_due_at"] = _due(project, values, verdict.last_engaged_at, scored,
                                  previous_stage, last_moved_at, verdict.at)
    row = {f"new_{name}": values[name] for name in _WRITTEN}
    row["lead_id"] = lead.id
    return row


def _changes(lead: Any, row: dict[str, Any]) -> bool:
    """Whether the row changes more of the lead than when the sweep looks at it next."""
    return any(row[f"new_{name}"] != getattr(lead, name) for name in _WRITTEN[:3] + _WRITTEN[4:])


def _due(project: Project, values: dict[str, Any], last_engaged_at: datetime | None,
         scored: Scored, previous_stage: str | None, last_moved_at: datetime | None,
         at: datetime) -> datetime | None:
    pipeline = project.pipeline
    stage = values["stage"]
    times = [next_evaluation(pipeline, stage, at, values["stage_entered_at"], last_engaged_at,
                             last_moved_at, previous_stage,
                             disqualified=values["status"] == "disqualified")]
    if SENDING_FACTS & facts_read(pipeline, stage):
        times.append(at + SENDING_RECHECK)
    if scored.scored_at is not None:
        times.append(decay_reaches(scored.stored_score, scored.scored_at,
                                   pipeline.scoring.half_life_days, DECAY_STEP))
    known = [t for t in times if t is not None]
    return max(min(known), at + MIN_GAP) if known else None


_RECENT_MOVES = (
    select(STAGE_CHANGES.c.lead_id, STAGE_CHANGES.c.from_stage, STAGE_CHANGES.c.to_stage,
           STAGE_CHANGES.c.at)
    .where(STAGE_CHANGES.c.lead_id.in_(bindparam("lead_ids", expanding=True)),
           STAGE_CHANGES.c.at > bindparam("since", type_=STAGE_CHANGES.c.at.type))
    .order_by(STAGE_CHANGES.c.lead_id, STAGE_CHANGES.c.at.desc(), STAGE_CHANGES.c.id.desc()))
_MOVE_BEFORE = (select(STAGE_CHANGES.c.from_stage, STAGE_CHANGES.c.at)
                .where(STAGE_CHANGES.c.lead_id == LEADS.c.id,
                       STAGE_CHANGES.c.from_stage != STAGE_CHANGES.c.to_stage)
                .order_by(STAGE_CHANGES.c.at.desc(), STAGE_CHANGES.c.id.desc()).limit(1))
# One lead, locked, with its last move (the stage it left, and when) and its events: what an
# event being recorded needs, in one round trip.
_LEAD = {dialect: select(
    LEADS,
    _MOVE_BEFORE.with_only_columns(STAGE_CHANGES.c.from_stage).scalar_subquery()
    .label("left_stage"),
    _MOVE_BEFORE.with_only_columns(STAGE_CHANGES.c.at).scalar_subquery().label("left_at"),
    events_as_json(dialect),
).where(LEADS.c.id == bindparam("lead_id")).with_for_update(key_share=True)
    for dialect in ("sqlite", "postgresql")}
_SOME_LEADS = (select(LEADS).where(LEADS.c.id.in_(bindparam("lead_ids", expanding=True)))
               .order_by(LEADS.c.id).with_for_update(key_share=True))
_NOTHING_NEW = News()


def _last_moves(connection: Connection, project: Project, leads: Sequence[Any],
                now: datetime) -> dict[int, tuple[str | None, datetime | None]]:
    """For leads that changed stage within the longest cool-down: the stage they left and when
    (a cool-down can only hold those back)."""
    longest = max((rule.cooldown_days for rule in project.pipeline.rules), default=0)
    since = now - timedelta(days=longest)
    ids = [lead.id for lead in leads if lead.stage_entered_at > since]
    found: dict[int, tuple[str | None, datetime | None]] = {}
    if not ids:
        return found
    for lead_id, from_stage, to_stage, at in connection.execute(
            _RECENT_MOVES, {"lead_ids": ids, "since": since}):
        if lead_id not in found and from_stage != to_stage:
            found[lead_id] = (from_stage, at)
    return found


def assess_lead(connection: Connection, project: Project, lead_id: int, now: datetime,
                news: News) -> Assessed:
    """Lock one lead and assess it at once with what was just recorded for it: its row, last
    move and events read in one round trip. Nothing happens for a lead that does not exist."""
    lead = connection.execute(_LEAD[connection.dialect.name],
                              {"lead_id": lead_id}).one_or_none()
    if lead is None:
        return Assessed()
    return assess(connection, project, [lead], now, {lead.id: news},
                  {lead.id: (lead.left_stage, lead.left_at)}, lead.history)


def assess_leads(connection: Connection, project: Project, news: Mapping[int, News],
                 now: datetime) -> Assessed:
    """assess_lead for the leads of a batch of events, in a handful of statements; the rows are
    locked in id order, so two batches naming the same leads never deadlock."""
    if not news:
        return Assessed()
    leads = connection.execute(_SOME_LEADS, {"lead_ids": sorted(news)}).all()
    return assess(connection, project, leads, now, news)


def rescore_reason(lead: Any) -> str | None:
    """Why a lead's score must be rebuilt from its events rather than decayed: it was never
    scored, or its fields (which bonuses and fit read) changed since."""
    if lead.scored_at is None:
        return WHY_NEW
    if lead.updated_at > lead.scored_at:
        return WHY_CHANGED
    return None
