"""Stage rules: given what is known of a lead, which move (if any) to make now, why, and when
to look again.

Order of precedence: the first rule in file order whose `from` holds the lead's stage and
whose condition holds; failing that, the stage's time limit (`max_days` → `on_stale`). Within a
rule's `cooldown_days` of a move, that rule may not send the lead back to the stage it just
left, which stops two rules bouncing a lead between stages (moving on is never delayed).
A won lead is moved only by rules that name its stage in `from` explicitly (never by
`from = "*"`, never by staleness).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from nurture.core.expressions import Condition, compile_condition
from nurture.core.sequences import Pipeline, Rule, Stage

ANY_STAGE = "*"
DAY = timedelta(days=1)
# The facts of a rule context that change with time or with sending, not with events.
TIMED_FACTS = ("score", "days_in_stage", "days_since_engagement", "touches_sent",
               "sequence_finished")
_STRING = re.compile(r"'[^']*'|\"[^\"]*\"")
_WORD = re.compile(r"\b(" + "|".join(TIMED_FACTS) + r")\b")


@dataclass(frozen=True)
class Move:
    """A decision to move a lead from one stage to another."""

    from_stage: str
    to_stage: str
    rule: str | None  # None for a stale move
    reason: str
    action: str
    handoff: bool = False
    disqualify: bool = False


def next_move(pipeline: Pipeline, context: Mapping[str, Any], now: datetime,
              days_in_stage: float, last_moved_at: datetime | None = None,
              previous_stage: str | None = None, disqualified: bool = False) -> Move | None:
    """The move to make for a lead described by `context` (the rule condition context).
    A rule never "moves" a lead to the stage it is in, except to disqualify it there; a lead
    already `disqualified` is not disqualified again, and does not go stale."""
    stage_id = str(context["stage"])
    derived = _derived(pipeline, stage_id)
    stage = derived.stage
    for rule, condition in zip(derived.rules, derived.conditions, strict=True):
        if rule.to == stage_id and (rule.action != "disqualify" or disqualified):
            continue
        if last_moved_at is not None and _cooling_down(rule, now, last_moved_at,
                                                       previous_stage):
            continue
        if condition.holds(context):
            action = rule.action or move_action(pipeline, stage_id, rule.to)
            return Move(stage_id, rule.to, rule.name, f"{action} by rule {rule.name}: {rule.when}",
                        action, handoff=rule.handoff, disqualify=rule.action == "disqualify")
    if disqualified or stage is None or stage.is_terminal or stage.max_days is None \
            or not stage.on_stale:
        return None
    if days_in_stage <= stage.max_days:
        return None
    if stage.on_stale == "disqualified":
        return Move(stage_id, stage_id, None, f"stale: over {stage.max_days} days in {stage_id}",
                    "disqualify", disqualify=True)
    return Move(stage_id, stage.on_stale, None,
                f"stale: over {stage.max_days} days in {stage_id}",
                move_action(pipeline, stage_id, stage.on_stale))


def chain_moves(pipeline: Pipeline, context: Mapping[str, Any], now: datetime,
                days_in_stage: float, last_moved_at: datetime | None = None,
                previous_stage: str | None = None, disqualified: bool = False) -> list[Move]:
    """Every move to make now, in order: a lead that lands in a stage whose rules it already
    satisfies moves on at once (each step recorded). A lead is never taken back to a stage of
    the chain, and a disqualification ends it."""
    moves: list[Move] = []
    visited = {str(context["stage"])}
    current = context
    while len(moves) < len(pipeline.stages):
        move = next_move(pipeline, current, now, days_in_stage, last_moved_at, previous_stage,
                         disqualified)
        if move is None or (move.to_stage in visited and move.to_stage != move.from_stage):
            break
        moves.append(move)
        if move.disqualify or move.to_stage == move.from_stage:
            break
        visited.add(move.to_stage)
        # A new stay: nothing sent in it yet, no time spent in it.
        lead = dict(current.get("lead") or {})
        lead["stage"] = move.to_stage
        current = {**current, "stage": move.to_stage, "lead": lead, "days_in_stage": 0,
                   "touches_sent": 0, "sequence_finished": False}
        days_in_stage, last_moved_at, previous_stage = 0.0, now, move.from_stage
    return moves


def facts_read(pipeline: Pipeline, stage_id: str) -> frozenset[str]:
    """The TIMED_FACTS that decide whether a lead in `stage_id` moves: those its rules read,
    and days_in_stage when the stage has a time limit."""
    return _derived(pipeline, stage_id).facts


@dataclass(frozen=True)
class _StageRules:
    stage: Stage | None
    rules: tuple[Rule, ...]  # those that apply in the stage, in file order
    conditions: tuple[Condition, ...]  # their `when`, compiled
    read_by_rules: frozenset[str]
    facts: frozenset[str]


_DERIVED: dict[tuple[int, str], tuple[Pipeline, _StageRules]] = {}


def _derived(pipeline: Pipeline, stage_id: str) -> _StageRules:
    """What a stage's rules imply, worked out once per pipeline (a sweep asks for each lead)."""
    known = _DERIVED.get((id(pipeline), stage_id))
    if known is not None and known[0] is pipeline:
        return known[1]
    stage = pipeline.stage(stage_id)
    terminal = stage is not None and stage.is_terminal
    rules = tuple(rule for rule in pipeline.rules if _applies(rule, stage_id, terminal))
    read = frozenset(name for rule in rules
                     for name in _WORD.findall(_STRING.sub("''", rule.when)))
    limited = stage is not None and not terminal and bool(stage.max_days) and bool(stage.on_stale)
    conditions = tuple(compile_condition(rule.when, "rule") for rule in rules)
    derived = _StageRules(stage, rules, conditions, read,
                          read | {"days_in_stage"} if limited else read)
    if len(_DERIVED) > 1000:  # pipelines reloaded many times: forget the old ones
        _DERIVED.clear()
    _DERIVED[(id(pipeline), stage_id)] = (pipeline, derived)  # keeps the id from being reused
    return derived


def next_evaluation(pipeline: Pipeline, stage_id: str, now: datetime,
                    stage_entered_at: datetime, last_engaged_at: datetime | None,
                    last_moved_at: datetime | None = None, previous_stage: str | None = None,
                    disqualified: bool = False) -> datetime | None:
    """The next instant after `now` at which a day count the stage's rules read ticks over,
    the stage's time limit passes, or a cool-down ends (None: nothing changes with time alone;
    score decay and sending are the caller's to watch)."""
    derived = _derived(pipeline, stage_id)
    read = derived.read_by_rules
    times: list[datetime] = []
    if "days_in_stage" in read:
        times.append(_next_whole_day(stage_entered_at, now))
    if "days_since_engagement" in read and last_engaged_at is not None:
        times.append(_next_whole_day(last_engaged_at, now))
    stage = derived.stage
    if not disqualified and stage is not None and not stage.is_terminal and stage.max_days \
            and stage.on_stale:
        times.append(stage_entered_at + timedelta(days=stage.max_days, seconds=1))
    if last_moved_at is not None:
        for rule in derived.rules:
            if rule.to == previous_stage:
                times.append(last_moved_at + timedelta(days=rule.cooldown_days))
    later = [t for t in times if t > now]
    return min(later) if later else None


def _next_whole_day(since: datetime, now: datetime) -> datetime:
    """When the whole days elapsed since `since` next go up by one."""
    if now < since:
        return since + DAY
    return since + DAY * ((now - since) // DAY + 1)


def _cooling_down(rule: Rule, now: datetime, last_moved_at: datetime | None,
                  previous_stage: str | None) -> bool:
    return (rule.to == previous_stage and last_moved_at is not None
            and now - last_moved_at < timedelta(days=rule.cooldown_days))


def _applies(rule: Rule, stage_id: str, terminal: bool) -> bool:
    if stage_id in rule.from_:
        return True
    return ANY_STAGE in rule.from_ and not terminal


def move_action(pipeline: Pipeline, from_stage: str, to_stage: str) -> str:
    """promote when moving forward in the stage list, demote when moving back."""
    order = [s.id for s in pipeline.stages]
    if from_stage in order and to_stage in order:
        return "promote" if order.index(to_stage) > order.index(from_stage) else "demote"
    return "move"
