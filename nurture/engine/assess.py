"""Assessing leads: score, fit, stage rules, and when to look again — one path for a lead an
event or a change just touched and for a batch of the rules sweep, so both decide alike.

The caller holds the leads' rows locked (FOR NO KEY UPDATE on PostgreSQL, the write lock on
SQLite) for the transaction, so what is decided from them is still true when it is written.
Each lead gets `rules_due_at`: the next instant a day count its stage's rules read ticks over,
its stage's time limit passes, a cool-down ends, or decay takes another DECAY_STEP points.

A batch costs a handful of statements whatever its size: the lead rows come with what their
assessment reads (`lead_rows`: the last move, the scoring events as one JSON value per lead),
and the score history rows and the lead rows are written one statement each
(nurture.engine.bulk).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, Connection, Select, bindparam, case, or_, select

from nurture.core.rules import Move, chain_moves, facts_read, next_evaluation
from nurture.core.scoring import bonus_types, decay_reaches, scored_types
from nurture.engine.bulk import insert_rows, update_rows
from nurture.engine.facts import StayFacts, condition_context, lead_fields, stay_facts
from nurture.engine.scoring import (
    DECAY_STEP,
    SCORE_CHANGE_COLUMNS,
    SCORE_CHANGES,
    Scored,
    decay,
    events_as_json,
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
# The lead columns an assessment writes, in one statement per batch (nurture.engine.bulk).
WRITTEN = ("score", "fit", "scored_at", "rules_due_at", "stage", "stage_entered_at",
           "needs_enrollment", "status", "last_engaged_at", "visited")


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

    def add(self, other: Assessed) -> None:
        self.leads += other.leads
        self.rescored += other.rescored
        self.score_changes += other.score_changes
        self.moves += other.moves
        self.handoffs += other.handoffs
        self.moved += other.moved


def assess(connection: Connection, project: Project, leads: Sequence[Any], now: datetime,
           news: Mapping[int, News] | None = None) -> Assessed:
    """Score, grade and apply the rules to `leads` (locked rows of `lead_rows`) at `now`, and
    write it all. `news` is what was just recorded for some of them. A lead's score is rebuilt
    from its events when news says so or `rescore_reason` does, else decayed."""
    pipeline, scoring = project.pipeline, project.pipeline.scoring
    news = news or {}
    stays = stay_facts(connection, [lead for lead in leads
                                    if SENDING_FACTS & facts_read(pipeline, lead.stage)])
    verdicts = []
    rescored = 0
    for lead in leads:
        at = max(now, lead.stage_entered_at, lead.scored_at or now)  # never before what is known
        fields = lead_fields(lead)
        new = news.get(lead.id, _NOTHING_NEW)
        why = new.why or rescore_reason(lead)
        if why:
            if lead.history is None:  # lead_rows reads it for every lead rescore_reason names
                raise RuntimeError(f"lead {lead.id}: its events were not read with it")
            rescored += 1
            scored = rescore(lead, fields, scored_events(lead.history, scoring), scoring, at,
                             why, new.event_ids)
        else:
            scored = decay(lead, scoring, at)
        stay = stays.get(lead.id, _NO_STAY)
        score_now = round(scored.score, 4)
        engaged = lead.last_engaged_at
        if new.engaged_at is not None and (engaged is None or new.engaged_at > engaged):
            engaged = new.engaged_at
        context = condition_context(lead, at, touches_sent=stay.touches_sent,
                                    sequence_finished=stay.sequence_finished,
                                    score=score_now, fit=scored.fit, fields=fields,
                                    last_engaged_at=engaged)
        moves = chain_moves(pipeline, context, at,
                            (at - lead.stage_entered_at).total_seconds() / 86_400,
                            lead.left_at, lead.left_stage,
                            disqualified=lead.status == "disqualified")
        verdicts.append(_Verdict(lead, at, scored, LeadMoves(lead, moves, at, score_now, score_now),
                                 engaged))
    done = _write(connection, project, verdicts)
    done.rescored = rescored
    return done


@dataclass
class _Verdict:
    lead: Any
    at: datetime
    scored: Scored
    moves: LeadMoves
    last_engaged_at: datetime | None


def _write(connection: Connection, project: Project, verdicts: list[_Verdict]) -> Assessed:
    writes = record_moves(connection, [v.moves for v in verdicts if v.moves.moves], RULES_SOURCE)
    changes = [row for v in verdicts for row in v.scored.changes]
    insert_rows(connection, SCORE_CHANGES, SCORE_CHANGE_COLUMNS, changes)
    rows = []
    for verdict in verdicts:
        row = _lead_row(project, verdict, writes.lead_values.get(verdict.lead.id))
        if any(new != getattr(verdict.lead, name)
               for name, new in zip(WRITTEN, row[1:], strict=True)):
            rows.append(row)
    update_rows(connection, LEADS, WRITTEN, rows)
    return Assessed(leads=len(verdicts), score_changes=len(changes),
                    moves=writes.stage_changes, handoffs=writes.handoffs,
                    moved=[(v.lead.id, move) for v in verdicts for move in v.moves.moves])


def _lead_row(project: Project, verdict: _Verdict, moved: dict[str, Any] | None
              ) -> tuple[Any, ...]:
    """The lead's id and its WRITTEN columns as they should now be."""
    lead, scored = verdict.lead, verdict.scored
    values = {"score": round(scored.stored_score, 4), "fit": scored.fit,
              "scored_at": scored.scored_at, "stage": lead.stage,
              "stage_entered_at": lead.stage_entered_at,
              "needs_enrollment": lead.needs_enrollment, "status": lead.status,
              "last_engaged_at": verdict.last_engaged_at, "visited": lead.visited,
              **(moved or {})}
    previous_stage, last_moved_at = lead.left_stage, lead.left_at
    stage_moves = [m for m in verdict.moves.moves if m.to_stage != m.from_stage]
    if stage_moves:
        previous_stage, last_moved_at = stage_moves[-1].from_stage, verdict.at
    values["rules_due_at"] = _due(project, values, verdict.last_engaged_at, scored,
                                  previous_stage, last_moved_at, verdict.at)
    return (lead.id, *(values[name] for name in WRITTEN))


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


# -- reading the leads to assess -----------------------------------------------------------

_MOVE_BEFORE = (select(STAGE_CHANGES.c.from_stage, STAGE_CHANGES.c.at)
                .where(STAGE_CHANGES.c.lead_id == LEADS.c.id,
                       STAGE_CHANGES.c.from_stage != STAGE_CHANGES.c.to_stage)
                .order_by(STAGE_CHANGES.c.at.desc(), STAGE_CHANGES.c.id.desc()).limit(1))


def _lead_rows(dialect: str) -> Select[Any]:
    # The last move is read only for leads that entered their stage within the longest
    # cool-down (a cool-down can hold back only those), the events only for leads to rescore.
    recent = LEADS.c.stage_entered_at > bindparam("moved_since",
                                                  type_=LEADS.c.stage_entered_at.type)
    to_rescore = or_(bindparam("rescore_all", type_=Boolean()), LEADS.c.scored_at.is_(None),
                     LEADS.c.updated_at > LEADS.c.scored_at)
    return select(
        LEADS,
        case((recent, _MOVE_BEFORE.with_only_columns(STAGE_CHANGES.c.from_stage)
              .scalar_subquery())).label("left_stage"),
        case((recent, _MOVE_BEFORE.with_only_columns(STAGE_CHANGES.c.at)
              .scalar_subquery())).label("left_at"),
        case((to_rescore, events_as_json(dialect))).label("history"),
    )


_LEAD_ROWS = {dialect: _lead_rows(dialect) for dialect in ("sqlite", "postgresql")}


def lead_rows(connection: Connection) -> Select[Any]:
    """Lead rows as `assess` takes them: every column of the lead, its last move (`left_stage`,
    `left_at`) and its scoring events (`history`); add the WHERE, ORDER and lock, and execute
    with `lead_row_params`."""
    return _LEAD_ROWS[connection.dialect.name]


def lead_row_params(project: Project, now: datetime, rescore_all: bool = False
                    ) -> dict[str, Any]:
    """The parameters of `lead_rows`: events are read for every lead with `rescore_all` (leads
    an event was just recorded for), else for those `rescore_reason` names."""
    scoring = project.pipeline.scoring
    longest = max((rule.cooldown_days for rule in project.pipeline.rules), default=0)
    return {"moved_since": now - timedelta(days=longest), "rescore_all": rescore_all,
            "kinds": sorted(scored_types(scoring)), "with_data": sorted(bonus_types(scoring))}


_SOME_LEADS = {dialect: query.where(LEADS.c.id.in_(bindparam("lead_ids", expanding=True)))
               .order_by(LEADS.c.id).with_for_update(key_share=True)
               for dialect, query in _LEAD_ROWS.items()}
_NOTHING_NEW = News()
_NO_STAY = StayFacts()


def assess_lead(connection: Connection, project: Project, lead_id: int, now: datetime,
                news: News) -> Assessed:
    """Lock one lead and assess it at once with what was just recorded for it. Nothing happens
    for a lead that does not exist."""
    return assess_leads(connection, project, {lead_id: news}, now)


def assess_leads(connection: Connection, project: Project, news: Mapping[int, News],
                 now: datetime) -> Assessed:
    """Lock the leads of a batch of events and assess them with what was just recorded, their
    rows, last moves and events read in one statement; the rows are locked in id order, so two
    batches naming the same leads never deadlock."""
    if not news:
        return Assessed()
    leads = connection.execute(_SOME_LEADS[connection.dialect.name], {
        "lead_ids": sorted(news), **lead_row_params(project, now, rescore_all=True)}).all()
    return assess(connection, project, leads, now, news)


def rescore_reason(lead: Any) -> str | None:
    """Why a lead's score must be rebuilt from its events rather than decayed: it was never
    scored, or its fields (which bonuses and fit read) changed since."""
    if lead.scored_at is None:
        return WHY_NEW
    if lead.updated_at > lead.scored_at:
        return WHY_CHANGED
    return None
