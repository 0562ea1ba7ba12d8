from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nurture.core.rules import Move, next_move
from nurture.core.sequences import Pipeline

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
PIPELINE = Pipeline.model_validate({
    "stage": [
        {"id": "prospecting", "probability": 0.05, "max_days": 45, "on_stale": "disqualified"},
        {"id": "mql", "probability": 0.1, "max_days": 21, "on_stale": "prospecting"},
        {"id": "won", "probability": 1.0, "outcome": "won", "max_days": 1, "on_stale": "mql"},
    ],
    "rule": [
        {"name": "mql", "from": "prospecting", "to": "mql", "when": "score >= 40",
         "handoff": True},
        {"name": "cold", "from": "mql", "to": "prospecting", "when": "score < 10",
         "cooldown_days": 7},
        {"name": "anything", "from": "*", "to": "mql", "when": "lead.custom.vip == 'yes'"},
    ],
})


def context(stage: str, score: float = 0, **custom: str) -> dict:
    return {"stage": stage, "score": score, "fit": "A", "lead": {"custom": custom},
            "days_in_stage": 1, "days_since_engagement": 1, "touches_sent": 0,
            "sequence_finished": False}


def test_first_matching_rule_moves_the_lead_with_its_reason() -> None:
    move = next_move(PIPELINE, context("prospecting", 45), NOW, days_in_stage=1)
    assert move == Move("prospecting", "mql", "mql", "rule mql: score >= 40", "promote",
                        handoff=True)


def test_no_rule_no_move() -> None:
    assert next_move(PIPELINE, context("prospecting", 10), NOW, days_in_stage=1) is None


def test_cooldown_stops_ping_pong_but_not_moving_on() -> None:
    just_moved = NOW - timedelta(days=2)
    back = next_move(PIPELINE, context("mql", 5), NOW, 2, just_moved, previous_stage="prospecting")
    assert back is None
    later = next_move(PIPELINE, context("mql", 5), NOW, 8, NOW - timedelta(days=8), "prospecting")
    assert later is not None and later.to_stage == "prospecting" and later.action == "demote"


def test_stale_leads_move_as_the_stage_says() -> None:
    stale = next_move(PIPELINE, context("mql", 20), NOW, days_in_stage=22)
    assert stale is not None and (stale.to_stage, stale.rule) == ("prospecting", None)
    disqualified = next_move(PIPELINE, context("prospecting", 0), NOW, days_in_stage=46)
    assert disqualified is not None and disqualified.disqualify


def test_won_leads_are_never_moved_by_wildcards_or_staleness() -> None:
    assert next_move(PIPELINE, context("won", 0, vip="yes"), NOW, days_in_stage=30) is None
    wildcard = next_move(PIPELINE, context("prospecting", 0, vip="yes"), NOW, days_in_stage=1)
    assert wildcard is not None and wildcard.rule == "anything"
