"""Engagement score and fit grade, computed from the stored history: the same events give the
same score whatever order they arrived in.

Each human event earns the points of its type plus any bonus whose condition holds; caps limit
what one type may earn within a rolling period; every contribution then decays with the
half-life. Machine-flagged events (scanners, privacy proxies) earn nothing.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from nurture.core.durations import parse_duration
from nurture.core.expressions import compile_condition
from nurture.core.sequences import Scoring


@dataclass(frozen=True)
class ScoredEvent:
    """An event as scoring sees it."""

    id: int
    type: str
    at: datetime
    data: Mapping[str, Any]
    machine: bool = False


@dataclass(frozen=True)
class Contribution:
    """What one event added, before decay, and why."""

    event_id: int
    at: datetime
    points: float
    reason: str


@dataclass(frozen=True)
class Score:
    total: float
    contributions: tuple[Contribution, ...]

    def explain(self, now: datetime, half_life_days: float | None) -> list[tuple[str, float]]:
        """Each reason with its decayed value at `now`, largest first."""
        items = [(c.reason, decayed(c.points, c.at, now, half_life_days))
                 for c in self.contributions]
        return sorted(items, key=lambda item: -abs(item[1]))


def decayed(points: float, at: datetime, now: datetime, half_life_days: float | None) -> float:
    """`points` earned at `at`, worth this much at `now` (exponential decay)."""
    if not half_life_days or now <= at:
        return points
    age_days = (now - at).total_seconds() / 86_400
    return points * math.pow(0.5, age_days / half_life_days)


def contributions(events: Iterable[ScoredEvent], scoring: Scoring,
                  lead: Mapping[str, Any]) -> list[Contribution]:
    """Points per event before decay, caps applied in time order (ties by id)."""
    ordered = sorted(events, key=lambda e: (e.at, e.id))
    windows: dict[str, deque[tuple[datetime, float]]] = defaultdict(deque)
    caps = {kind: (cap.points, parse_duration(cap.per)) for kind, cap in scoring.caps.items()}
    result = []
    for event in ordered:
        if event.machine:
            continue
        raw, reasons = _raw_points(event, scoring, lead)
        points = raw
        if event.type in caps and raw > 0:
            points = _capped(windows[event.type], event.at, raw, *caps[event.type])
            if points < raw:
                cap = scoring.caps[event.type]
                reasons.append(f"capped at {cap.points} per {cap.per}")
        if not points:
            continue
        result.append(Contribution(event.id, event.at, points, ", ".join(reasons)))
    return result


def score(events: Iterable[ScoredEvent], scoring: Scoring, lead: Mapping[str, Any],
          now: datetime) -> Score:
    """The lead's score at `now`, with the contributions that make it up."""
    parts = contributions(events, scoring, lead)
    total = sum(decayed(c.points, c.at, now, scoring.half_life_days) for c in parts)
    return Score(round(total, 4), tuple(parts))


def _raw_points(event: ScoredEvent, scoring: Scoring,
                lead: Mapping[str, Any]) -> tuple[float, list[str]]:
    points = float(scoring.points.get(event.type, 0))
    reasons = [f"{event.type} {points:+g}"] if points else []
    context = {"lead": lead, "event": {"type": event.type, "url": event.data.get("url", ""),
                                       "data": event.data}}
    for bonus in scoring.bonus:
        if bonus.event == event.type and compile_condition(bonus.when, "bonus").holds(context):
            points += bonus.points
            reasons.append(f"bonus {bonus.points:+g} ({bonus.when})")
    return points, reasons


def _capped(window: deque[tuple[datetime, float]], at: datetime, points: float, cap: int,
            period: timedelta) -> float:
    while window and window[0][0] <= at - period:
        window.popleft()
    room = cap - sum(p for _, p in window)
    granted = max(0.0, min(points, room))
    if granted:
        window.append((at, granted))
    return granted


def fit_grade(scoring: Scoring, lead: Mapping[str, Any]) -> str:
    """The first grade (A, B, C) whose condition holds for the lead's fields, else "D"."""
    for grade in ("A", "B", "C"):
        condition = scoring.fit.get(grade)
        if condition and compile_condition(condition, "fit").holds({"lead": lead}):
            return grade
    return "D"
