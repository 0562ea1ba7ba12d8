"""Stage rules: given what is known of a lead, which move (if any) to make now, and why.

Order of precedence: the first rule in file order whose `from` holds the lead's stage and
whose condition holds; failing that, the stage's time limit (`max_days` → `on_stale`). Within a
rule's `cooldown_days` of a move, that rule may not send the lead back to the stage it just
left, which stops two rules bouncing a lead between stages (moving on is never delayed).
A won lead is moved only by rules that name its stage in `from` explicitly (never by
`from = "*"`, never by staleness).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from nurture.core.expressions import compile_condition
from nurture.core.sequences import Pipeline, Rule

ANY_STAGE = "*"


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
              previous_stage: str | None = None) -> Move | None:
    """The move to make for a lead described by `context` (the rule condition context)."""
    stage_id = str(context["stage"])
    stage = pipeline.stage(stage_id)
    terminal = stage is not None and stage.is_terminal
    for rule in pipeline.rules:
        if not _applies(rule, stage_id, terminal):
            continue
        if rule.to == previous_stage and last_moved_at is not None \
                and now - last_moved_at < timedelta(days=rule.cooldown_days):
            continue
        if compile_condition(rule.when, "rule").holds(context):
            return Move(stage_id, rule.to, rule.name, f"rule {rule.name}: {rule.when}",
                        rule.action or _action(pipeline, stage_id, rule.to),
                        handoff=rule.handoff, disqualify=rule.action == "disqualify")
    if stage is None or terminal or stage.max_days is None or not stage.on_stale:
        return None
    if days_in_stage <= stage.max_days:
        return None
    if stage.on_stale == "disqualified":
        return Move(stage_id, stage_id, None, f"stale: over {stage.max_days} days in {stage_id}",
                    "disqualify", disqualify=True)
    return Move(stage_id, stage.on_stale, None,
                f"stale: over {stage.max_days} days in {stage_id}",
                _action(pipeline, stage_id, stage.on_stale))


def _applies(rule: Rule, stage_id: str, terminal: bool) -> bool:
    if stage_id in rule.from_:
        return True
    return ANY_STAGE in rule.from_ and not terminal


def _action(pipeline: Pipeline, from_stage: str, to_stage: str) -> str:
    """promote when moving forward in the stage list, demote when moving back."""
    order = [s.id for s in pipeline.stages]
    if from_stage in order and to_stage in order:
        return "promote" if order.index(to_stage) > order.index(from_stage) else "demote"
    return "move"
