"""Engagement score and fit grade, computed from the stored history: the same events give the
same score whatever order they arrived in.

Each human event earns the points of its type plus any bonus whose condition holds; caps limit
what one type may earn within a rolling period; every contribution then decays with the
half-life. Machine-flagged events (scanners, privacy proxies) earn nothing.

A full sweep scores millions of events, so the inner loop is lean: events are tuples, reasons
are written only when someone reads them, and what a configuration implies (caps, bonus types,
the fields fit grades read) is worked out once per configuration.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from nurture.core.durations import parse_duration
from nurture.core.expressions import compile_condition
from nurture.core.sequences import Bonus, Cap, Scoring

DAY_SECONDS = 86_400
MEMO_SIZE = 100_000  # remembered fit grades, and bonus outcomes
_TIME_ORDER = attrgetter("at", "id")  # events in time order, ties by id


class ScoredEvent(NamedTuple):
    """An event as scoring sees it."""

    id: int
    type: str
    at: datetime
    data: Mapping[str, Any]
    machine: bool = False


class Contribution(NamedTuple):
    """What one event added, before decay; `reason` says why, in words."""

    event: ScoredEvent
    points: float
    bonuses: tuple[Bonus, ...] = ()
    cap: Cap | None = None

    @property
    def event_id(self) -> int:
        return self.event.id

    @property
    def at(self) -> datetime:
        return self.event.at

    @property
    def reason(self) -> str:
        """e.g. "clicked relay.example.com/pricing: +5, +10 bonus ('/pricing' in event.url)"."""
        what = _what(self.event)
        base = self.points - sum(b.points for b in self.bonuses) if self.cap is None else None
        parts = [f"{base:+g}"] if base else []
        parts += [f"{b.points:+g} bonus ({b.when})" for b in self.bonuses]
        if self.cap is not None:
            parts = [f"{self.points:+g}", f"capped at {self.cap.points} per {self.cap.per}"]
        return f"{self.event.type}{' ' + what if what else ''}: {', '.join(parts)}"


@dataclass(frozen=True)
class Score:
    total: float
    contributions: tuple[Contribution, ...]

    def explain(self, now: datetime, half_life_days: float | None) -> list[tuple[str, float]]:
        """Each reason with its decayed value at `now`, largest first."""
        items = [(c.reason, decayed(c.points, c.at, now, half_life_days))
                 for c in self.contributions]
        return sorted(items, key=lambda item: -abs(item[1]))

    def of_event(self, event_id: int) -> Contribution | None:
        """What the event with this id contributed, if anything."""
        return next((c for c in self.contributions if c.event.id == event_id), None)


def decayed(points: float, at: datetime, now: datetime, half_life_days: float | None) -> float:
    """`points` earned at `at`, worth this much at `now` (exponential decay)."""
    return points * decay_factor(at, now, half_life_days)


def decay_factor(since: datetime, now: datetime, half_life_days: float | None) -> float:
    """What a point earned at `since` is worth at `now`. One half-life for every event makes
    decay multiplicative: a score known at `since` is worth score × factor at `now`."""
    if not half_life_days or now <= since:
        return 1.0
    return math.pow(0.5, (now - since).total_seconds() / DAY_SECONDS / half_life_days)


def decay_reaches(score: float, since: datetime, half_life_days: float | None,
                  step: float) -> datetime | None:
    """When a score of `score` at `since` will have lost `step` points to decay (None: never)."""
    if not half_life_days or abs(score) <= step:
        return None
    days = half_life_days * math.log2(abs(score) / (abs(score) - step))
    return since + timedelta(days=days)


def contributions(events: Iterable[ScoredEvent], scoring: Scoring,
                  lead: Mapping[str, Any]) -> list[Contribution]:
    """Points per event before decay, caps applied in time order (ties by id)."""
    plan = _plan(scoring)
    windows: dict[str, _Window] = {}
    result = []
    for event in sorted(events, key=_TIME_ORDER):
        if event.machine:
            continue
        kind = event.type
        points = plan.points.get(kind, 0.0)
        earned: tuple[Bonus, ...] = ()
        if kind in plan.bonuses:
            earned = _bonuses(plan, event, lead)
            if earned:
                points += sum(b.points for b in earned)
        if not points:
            continue
        cap = plan.caps.get(kind)
        if cap is not None and points > 0:
            window = windows.get(kind)
            if window is None:
                window = windows[kind] = _Window()
            granted = window.grant(event.at, points, cap[0].points, cap[1])
            if granted < points:
                if granted:
                    result.append(Contribution(event, granted, earned, cap[0]))
                continue
        result.append(Contribution(event, points, earned))
    return result


def score(events: Iterable[ScoredEvent], scoring: Scoring, lead: Mapping[str, Any],
          now: datetime) -> Score:
    """The lead's score at `now`, with the contributions that make it up."""
    parts = contributions(events, scoring, lead)
    half_life = scoring.half_life_days
    total = sum(c.points * decay_factor(c.event.at, now, half_life) for c in parts)
    return Score(round(total, 4), tuple(parts))


def scored_types(scoring: Scoring) -> frozenset[str]:
    """Event types that can earn or cost points: no other event needs reading to score."""
    return _plan(scoring).scored


def bonus_types(scoring: Scoring) -> frozenset[str]:
    """Event types whose data a bonus condition reads."""
    return frozenset(_plan(scoring).bonuses)


def fit_grade(scoring: Scoring, lead: Mapping[str, Any]) -> str:
    """The first grade (A, B, C) whose condition holds for the lead's fields, else "D".

    Remembered by the values of the fields the conditions read, so a million leads with a few
    thousand distinct (employees, title, industry) cost a few thousand evaluations."""
    plan = _plan(scoring)
    key = _fit_key(plan.fit_fields, lead)
    if key is not None:
        grade = plan.fit_memo.get(key)
        if grade is None:
            if len(plan.fit_memo) >= MEMO_SIZE:
                plan.fit_memo.clear()
            grade = plan.fit_memo[key] = _grade(scoring, lead)
        return grade
    return _grade(scoring, lead)


def _grade(scoring: Scoring, lead: Mapping[str, Any]) -> str:
    for grade in ("A", "B", "C"):
        condition = scoring.fit.get(grade)
        if condition and compile_condition(condition, "fit").holds({"lead": lead}):
            return grade
    return "D"


def _bonuses(plan: _Plan, event: ScoredEvent, lead: Mapping[str, Any]) -> tuple[Bonus, ...]:
    """The bonuses the event earns. Remembered by the values each condition reads (the URL, a
    form name…): the same links are clicked by thousands of leads."""
    context: dict[str, Any] | None = None
    earned = []
    for bonus, reads in plan.bonuses[event.type]:
        key = _bonus_key(bonus, reads, event, lead)
        holds = plan.bonus_memo.get(key) if key is not None else None
        if holds is None:
            if context is None:
                context = {"lead": lead, "event": {
                    "type": event.type, "url": event.data.get("url", ""), "data": event.data}}
            holds = compile_condition(bonus.when, "bonus").holds(context)
            if key is not None:
                if len(plan.bonus_memo) >= MEMO_SIZE:
                    plan.bonus_memo.clear()
                plan.bonus_memo[key] = holds
        if holds:
            earned.append(bonus)
    return tuple(earned)


def _bonus_key(bonus: Bonus, reads: tuple[str, ...] | None, event: ScoredEvent,
               lead: Mapping[str, Any]) -> tuple[Any, ...] | None:
    if reads is None:
        return None
    values: list[Any] = [bonus.when]
    for path in reads:
        owner, _, name = path.partition(".")
        if owner == "lead":
            values.append(_hashable(lead.get(name)))
        elif name == "type":
            values.append(event.type)
        elif name == "url":
            values.append(event.data.get("url", ""))
        else:  # data.NAME
            values.append(_hashable(event.data.get(name.removeprefix("data."))))
    key = tuple(values)
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _hashable(value: Any) -> Any:
    return tuple(sorted(value.items())) if isinstance(value, Mapping) else value


class _Window:
    """What one capped type granted within the cap's rolling period: times and points."""

    __slots__ = ("times", "points")

    def __init__(self) -> None:
        self.times: deque[datetime] = deque()
        self.points: deque[float] = deque()

    def grant(self, at: datetime, points: float, cap: int, period: timedelta) -> float:
        """What of `points` earned at `at` fits under the cap, now counted in the window."""
        start = at - period
        while self.times and self.times[0] <= start:
            self.times.popleft()
            self.points.popleft()
        granted = max(0.0, min(points, cap - sum(self.points)))
        if granted:
            self.times.append(at)
            self.points.append(granted)
        return granted


def _what(event: ScoredEvent) -> str:
    """The page a click or visit was about, shortly: "relay.example.com/pricing"."""
    url = event.data.get("url")
    if not url:
        form = event.data.get("form")
        return f"form {form}" if form else ""
    parts = urlsplit(str(url))
    shown = (parts.netloc + parts.path) or str(url)
    return shown if len(shown) <= 60 else shown[:59] + "…"


# -- what a configuration implies, worked out once per configuration -----------------------

_FIELD = re.compile(r"\blead\.(\w+)")
_LEAD = re.compile(r"\blead\b")
_EVENT_PART = re.compile(r"\b(event\.(?:type|url|data\.\w+))\b")
_EVENT = re.compile(r"\bevent\b")
_STRING = re.compile(r"'[^']*'|\"[^\"]*\"")


@dataclass
class _Plan:
    points: dict[str, float]  # per event type, as floats
    caps: dict[str, tuple[Cap, timedelta]]
    # Per event type, each bonus with what its condition reads ("event.url", "lead.title"…;
    # None: it reads a whole mapping, so it is evaluated every time).
    bonuses: dict[str, tuple[tuple[Bonus, tuple[str, ...] | None], ...]]
    scored: frozenset[str]
    fit_fields: tuple[str, ...] | None  # None: a condition reads `lead` as a whole
    fit_memo: dict[tuple[Any, ...], str]
    bonus_memo: dict[tuple[Any, ...], bool]


_PLANS: dict[int, tuple[Scoring, _Plan]] = {}


def _plan(scoring: Scoring) -> _Plan:
    known = _PLANS.get(id(scoring))
    if known is not None and known[0] is scoring:
        return known[1]
    bonuses: dict[str, list[tuple[Bonus, tuple[str, ...] | None]]] = {}
    for bonus in scoring.bonus:
        bonuses.setdefault(bonus.event, []).append((bonus, _bonus_reads(bonus.when)))
    plan = _Plan(
        points={kind: float(points) for kind, points in scoring.points.items()},
        caps={kind: (cap, parse_duration(cap.per)) for kind, cap in scoring.caps.items()},
        bonuses={kind: tuple(found) for kind, found in bonuses.items()},
        scored=frozenset({kind for kind, points in scoring.points.items() if points}
                         | set(bonuses)),
        fit_fields=_fields_read(list(scoring.fit.values())),
        fit_memo={},
        bonus_memo={},
    )
    if len(_PLANS) > 16:  # configurations reloaded many times: forget the old ones
        _PLANS.clear()
    _PLANS[id(scoring)] = (scoring, plan)  # the reference keeps the id from being reused
    return plan


def _fields_read(conditions: list[str]) -> tuple[str, ...] | None:
    fields: set[str] = set()
    for condition in conditions:
        code = _STRING.sub("''", condition)
        found = _FIELD.findall(code)
        if len(found) != len(_LEAD.findall(code)):
            return None
        fields.update(found)
    return tuple(sorted(fields))


def _bonus_reads(condition: str) -> tuple[str, ...] | None:
    code = _STRING.sub("''", condition)
    event_parts = _EVENT_PART.findall(code)
    fields = _fields_read([condition])
    if fields is None or len(event_parts) != len(_EVENT.findall(code)):
        return None
    return (*sorted(set(event_parts)), *(f"lead.{name}" for name in fields))


def _fit_key(fields: tuple[str, ...] | None, lead: Mapping[str, Any]) -> tuple[Any, ...] | None:
    if fields is None:
        return None
    key = []
    for name in fields:
        value = lead.get(name)
        if isinstance(value, Mapping):
            value = tuple(sorted(value.items()))
        key.append(value)
    try:
        hash(tuple(key))
    except TypeError:  # a nested custom value: evaluate rather than remember
        return None
    return tuple(key)
