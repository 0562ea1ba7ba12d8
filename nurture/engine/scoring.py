"""Scoring stored leads: their events read back, the core's score and fit, and every change of
score written down with its reason (a ScoreChange row), so a score can always be explained.

A lead's `score` is its value at `scored_at`. One half-life decays every contribution alike,
so between events the score is `score × decay_factor(scored_at, now)` — no events need
reading. Events are read only to rebuild a score: when an event arrives, when the lead's fields
change (bonuses and fit read them), and for a lead never scored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import String, bindparam, case, func, literal_column, select, type_coerce

from nurture.core.scoring import (
    ScoredEvent,
    decay_factor,
    fit_grade,
    score,
    scored_types,
)
from nurture.core.sequences import Scoring
from nurture.engine.facts import lead_fields
from nurture.store.models import Event, Lead, ScoreChange

EVENTS = Event.__table__  # type: ignore[attr-defined]
LEADS = Lead.__table__  # type: ignore[attr-defined]
SCORE_CHANGES = ScoreChange.__table__  # type: ignore[attr-defined]
DECAY_STEP = 1.0  # points of decay worth writing down (and looking at the lead again for)
SHOWN = 0.05  # a change smaller than this rounds to nothing on screen: not worth a row
_EVENT_DATA = EVENTS.alias("event_data")


@dataclass
class Scored:
    """A lead's score and fit as they should now be stored, and the history rows that say why."""

    score: float  # the value rules see: decayed to now
    fit: str
    scored_at: datetime | None  # unchanged when only decay too small to write happened
    stored_score: float
    changes: list[tuple[Any, ...]] = field(default_factory=list)  # SCORE_CHANGE_COLUMNS


# The columns of a ScoreChange row, in the order of the tuples in Scored.changes.
SCORE_CHANGE_COLUMNS = ("lead_id", "event_id", "at", "delta", "score_after", "reason")


def events_as_json(dialect: str) -> Any:
    """A column for a query of the lead table: the lead's human events that can score, as one
    JSON array of [id, type, at, data] (data only for types a bonus looks into, else null), so
    a batch of leads and their histories come in one statement (`scored_events` takes each
    apart). Its parameters: `kinds` (scored_types) and `with_data` (bonus_types).

    The events come from the index on (lead_id, at, type, machine) alone, which holds the id
    too: a lead's entries sit side by side there, while its rows are scattered through the
    table. Only a bonus type's data is fetched from the table, by id."""
    data = case((EVENTS.c.type.in_(bindparam("with_data", expanding=True)),
                 select(_EVENT_DATA.c.data).where(_EVENT_DATA.c.id == EVENTS.c.id)
                 .scalar_subquery()))
    items: Any
    if dialect == "postgresql":  # json_agg of no rows is NULL: NULL means "not read"
        items = func.coalesce(func.json_agg(func.json_build_array(
            EVENTS.c.id, EVENTS.c.type, EVENTS.c.at, data)), literal_column("'[]'::json"))
    else:  # the stored naive UTC text, marked as UTC so that it parses aware
        items = func.json_group_array(func.json_array(EVENTS.c.id, EVENTS.c.type,
                                                      type_coerce(EVENTS.c.at, String) + "+00:00",
                                                      func.json(data)))
    history = select(items).where(EVENTS.c.lead_id == LEADS.c.id,
                                  EVENTS.c.type.in_(bindparam("kinds", expanding=True)),
                                  EVENTS.c.machine.is_(False))
    return type_coerce(history.scalar_subquery(), String)


def scored_events(history: Any, scoring: Scoring) -> list[ScoredEvent]:
    """The events of `events_as_json` that can score (the others are left out)."""
    kinds = scored_types(scoring)
    items = (json.loads(history) if isinstance(history, str) else history) or []
    return [ScoredEvent(event_id, kind, _aware(at), data or _NO_DATA)
            for event_id, kind, at, data in items if kind in kinds]


_NO_DATA: Mapping[str, Any] = MappingProxyType({})


def _aware(value: Any) -> datetime:
    """A stored time as the driver returns it (text on SQLite, ISO text with an offset in
    PostgreSQL's JSON) as an aware UTC datetime."""
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
    return value  # psycopg: an aware datetime already


def decayed_score(lead: Any, scoring: Scoring, now: datetime) -> float:
    """The stored score of `lead` (a Lead or a lead row), decayed to `now`."""
    if lead.scored_at is None:
        return float(lead.score)
    return float(lead.score) * decay_factor(lead.scored_at, now, scoring.half_life_days)


def rescore(lead: Any, fields: dict[str, Any], events: list[ScoredEvent], scoring: Scoring,
            now: datetime, why: str, event_ids: Sequence[int] = ()) -> Scored:
    """The score rebuilt from `events` and the fit from `fields` (the lead as conditions see
    it). Decay since the last change gets a row of its own; then each new event (`event_ids`,
    in order) a row with what it earned and why, or, with none, one row explained by `why`.
    Whatever else changed (a late event shifting a cap) goes into the last row."""
    result = score(events, scoring, fields, now)
    scored = Scored(result.total, fit_grade(scoring, fields), now, result.total)
    before = _with_decay_row(lead, scoring, now, scored)
    rows: list[tuple[float, str, int | None]] = []  # (delta, reason, event id)
    for event_id in event_ids:
        own = result.of_event(event_id)
        if own is not None:
            rows.append((own.points * decay_factor(own.at, now, scoring.half_life_days),
                         own.reason, event_id))
    rest = result.total - before - sum(delta for delta, _, _ in rows)
    if rows:
        delta, reason, last = rows[-1]
        rows[-1] = (delta + rest, reason, last)
    elif abs(rest) >= SHOWN:
        rows.append((rest, why, event_ids[-1] if event_ids else None))
    after = before
    for delta, reason, explained_by in rows:
        after += delta
        scored.changes.append(_row(lead.id, now, delta, after, reason, explained_by))
    return scored


def decay(lead: Any, scoring: Scoring, now: datetime) -> Scored:
    """The stored score decayed to `now`; written down (with a "decay" row) once decay has
    taken DECAY_STEP points or more, else left as stored."""
    current = decayed_score(lead, scoring, now)
    if abs(current - lead.score) < DECAY_STEP:
        return Scored(current, lead.fit, lead.scored_at, float(lead.score))
    scored = Scored(current, lead.fit, now, current)
    _with_decay_row(lead, scoring, now, scored)
    return scored


def _with_decay_row(lead: Any, scoring: Scoring, now: datetime, scored: Scored) -> float:
    """Add the row for the decay since the stored score, if visible; the score after it."""
    current = decayed_score(lead, scoring, now)
    if abs(current - lead.score) < SHOWN:
        return float(lead.score)
    scored.changes.append(_row(lead.id, now, current - lead.score, current,
                               f"decay (half-life {scoring.half_life_days:g} days)", None))
    return current


def _row(lead_id: int, at: datetime, delta: float, after: float, reason: str,
         event_id: int | None) -> tuple[Any, ...]:
    """A ScoreChange row, as SCORE_CHANGE_COLUMNS."""
    return (lead_id, event_id, at, float(round(delta, 4)), float(round(after, 4)), reason)


@dataclass(frozen=True)
class ScoreLine:
    """One event's part in a score: when, why, what it earned and what that is worth now."""

    at: datetime
    reason: str
    points: float
    worth_now: float


def explain(lead: Any, events: Iterable[Any], scoring: Scoring,
            now: datetime) -> tuple[float, list[ScoreLine]]:
    """The lead's score at `now` from its stored events (Event rows), and what makes it up,
    oldest first: the answer to "why is this lead at 47?"."""
    scored = [ScoredEvent(e.id, e.type, e.at, e.data or {}, e.machine) for e in events]
    result = score(scored, scoring, lead_fields(lead), now)
    return result.total, [
        ScoreLine(c.at, c.reason, c.points,
                  c.points * decay_factor(c.at, now, scoring.half_life_days))
        for c in result.contributions]
