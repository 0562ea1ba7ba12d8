from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nurture.core.rules import Move, chain_moves, facts_read, next_evaluation, next_move
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
    assert move == Move("prospecting", "mql", "mql", "promote by rule mql: score >= 40",
                        "promote", handoff=True)


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


def test_a_disqualified_lead_does_not_go_stale_again() -> None:
    assert next_move(PIPELINE, context("prospecting"), NOW, 46, disqualified=True) is None


CHAIN = Pipeline.model_validate({
    "stage": [{"id": s, "probability": 0.1} for s in ("prospecting", "mql", "sql", "lost")],
    "rule": [
        {"name": "mql", "from": "prospecting", "to": "mql", "when": "score >= 30"},
        {"name": "sql", "from": "mql", "to": "sql", "when": "score >= 60 and days_in_stage < 1"},
        {"name": "back", "from": "sql", "to": "prospecting", "when": "score >= 0",
         "cooldown_days": 0},
        {"name": "poor", "from": "mql", "to": "lost", "when": "fit == 'D'",
         "action": "disqualify"},
    ],
})


def test_a_lead_that_qualifies_twice_moves_twice_at_once() -> None:
    moves = chain_moves(CHAIN, context("prospecting", 65), NOW, days_in_stage=40)
    assert [(m.from_stage, m.to_stage) for m in moves] == [("prospecting", "mql"),
                                                          ("mql", "sql")]


def test_a_chain_never_returns_to_a_stage_it_left() -> None:
    moves = chain_moves(CHAIN, context("prospecting", 65), NOW, days_in_stage=0)
    assert moves[-1].to_stage == "sql"  # "back" would return to prospecting: not in one go


def test_a_disqualification_ends_the_chain() -> None:
    poor = {**context("prospecting", 35), "fit": "D"}
    moves = chain_moves(CHAIN, poor, NOW, days_in_stage=0)
    assert [(m.to_stage, m.action, m.disqualify) for m in moves] == [
        ("mql", "promote", False), ("lost", "disqualify", True)]


def test_facts_read_are_the_timed_facts_of_the_stage_rules_and_its_limit() -> None:
    assert facts_read(PIPELINE, "prospecting") == {"score", "days_in_stage"}
    assert facts_read(PIPELINE, "won") == frozenset()  # terminal: no wildcard, no limit
    quoted = Pipeline.model_validate({
        "stage": [{"id": "a", "probability": 0.1}],
        "rule": [{"name": "r", "from": "a", "to": "a", "when": "lead.title == 'touches_sent'"}]})
    assert facts_read(quoted, "a") == frozenset()


def test_next_evaluation_is_the_next_day_tick_time_limit_or_end_of_cooldown() -> None:
    timed = Pipeline.model_validate({
        "stage": [{"id": "a", "probability": 0.1, "max_days": 10, "on_stale": "b"},
                  {"id": "b", "probability": 0.1}, {"id": "c", "probability": 0.1}],
        "rule": [{"name": "cold", "from": "b", "to": "a", "when": "days_since_engagement > 3",
                  "cooldown_days": 2},
                 {"name": "old", "from": "c", "to": "b", "when": "days_in_stage >= 30"}]})
    entered = NOW - timedelta(days=2, hours=6)
    assert next_evaluation(timed, "a", NOW, entered, None) == entered + timedelta(days=10,
                                                                                 seconds=1)
    assert next_evaluation(timed, "a", NOW, entered, None, disqualified=True) is None
    assert next_evaluation(timed, "c", NOW, entered, None) == entered + timedelta(days=3)
    engaged = NOW - timedelta(hours=30)
    assert next_evaluation(timed, "b", NOW, entered, engaged) == engaged + timedelta(days=2)
    assert next_evaluation(timed, "b", NOW, entered, None) is None
    moved = NOW - timedelta(hours=1)
    assert next_evaluation(timed, "b", NOW, moved, None, moved, "a") == moved + timedelta(days=2)


def test_a_rule_never_moves_a_lead_to_the_stage_it_is_in_but_may_disqualify_it_there() -> None:
    pipeline = Pipeline.model_validate({
        "stage": [{"id": "a", "probability": 0.1}, {"id": "b", "probability": 0.1}],
        "rule": [{"name": "to-b", "from": "*", "to": "b", "when": "score >= 0"},
                 {"name": "drop", "from": "b", "to": "b", "when": "fit == 'D'",
                  "action": "disqualify"}]})
    poor = {**context("b"), "fit": "D"}
    move = next_move(pipeline, poor, NOW, 1)
    assert move is not None and (move.rule, move.disqualify) == ("drop", True)
    assert next_move(pipeline, poor, NOW, 1, disqualified=True) is None
    assert next_move(pipeline, context("b"), NOW, 1) is None
