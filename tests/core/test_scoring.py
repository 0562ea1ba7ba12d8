from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nurture.core.scoring import (
    ScoredEvent,
    bonus_types,
    decay_factor,
    decay_reaches,
    decayed,
    fit_grade,
    score,
    scored_types,
)
from nurture.core.sequences import Scoring

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SCORING = Scoring.model_validate({
    "half_life_days": 30,
    "points": {"opened": 1, "clicked": 5, "replied": 15, "unsubscribed": -50},
    "bonus": [{"event": "clicked", "when": "'/pricing' in event.url", "points": 10}],
    "caps": {"opened": {"points": 3, "per": "7d"}},
    "fit": {"A": "lead.employees >= 200", "B": "lead.employees >= 50"},
})


def event(i: int, kind: str, days_ago: float = 0, **data: object) -> ScoredEvent:
    return ScoredEvent(i, kind, NOW - timedelta(days=days_ago), data)


def test_points_per_type_and_bonus_with_reasons() -> None:
    result = score([event(1, "clicked", url="https://x.example/pricing"), event(2, "replied")],
                   SCORING, {}, NOW)
    assert result.total == 30
    reasons = [c.reason for c in result.contributions]
    assert reasons[0] == "clicked x.example/pricing: +5, +10 bonus ('/pricing' in event.url)"
    assert reasons[1] == "replied: +15"


def test_negative_points_lower_the_score() -> None:
    assert score([event(1, "replied"), event(2, "unsubscribed")], SCORING, {}, NOW).total == -35


def test_machine_events_score_nothing() -> None:
    machine = ScoredEvent(1, "clicked", NOW, {"url": "/pricing"}, machine=True)
    assert score([machine], SCORING, {}, NOW).total == 0


def test_caps_limit_points_per_period() -> None:
    opens = [event(i, "opened", days_ago=i / 10) for i in range(10)]
    capped = score(opens, SCORING, {}, NOW)
    assert sum(c.points for c in capped.contributions) == 3
    assert len(capped.contributions) == 3
    spread = [event(i, "opened", days_ago=i * 8) for i in range(4)]  # one per 8 days: no cap
    assert len(score(spread, SCORING, {}, NOW).contributions) == 4


def test_decay_halves_points_every_half_life() -> None:
    assert score([event(1, "replied", days_ago=30)], SCORING, {}, NOW).total == pytest.approx(7.5)
    assert decayed(15, NOW, NOW + timedelta(days=60), 30) == pytest.approx(3.75)
    assert decayed(15, NOW, NOW + timedelta(days=60), None) == 15


KINDS = st.sampled_from(["opened", "clicked", "replied", "unsubscribed", "visited"])
EVENTS = st.lists(st.tuples(KINDS, st.integers(0, 60 * 24), st.booleans()), max_size=30)


@given(EVENTS, st.randoms())
def test_score_is_the_same_whatever_the_arrival_order(raw: list, rnd: object) -> None:
    events = [ScoredEvent(i, kind, NOW - timedelta(minutes=minutes),
                          {"url": "/pricing" if pricing else "/blog"})
              for i, (kind, minutes, pricing) in enumerate(raw)]
    shuffled = list(events)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    renumbered = [ScoredEvent(i, e.type, e.at, e.data) for i, e in enumerate(shuffled)]
    assert score(events, SCORING, {}, NOW).total == pytest.approx(
        score(renumbered, SCORING, {}, NOW).total)


@pytest.mark.parametrize(("lead", "grade"), [
    ({"employees": 500}, "A"), ({"employees": 60}, "B"), ({"employees": 5}, "D"),
    ({"employees": None}, "D"), ({}, "D"),
])
def test_fit_is_the_first_matching_grade(lead: dict, grade: str) -> None:
    assert fit_grade(SCORING, lead) == grade


def test_a_capped_event_says_so_and_a_fully_capped_one_earns_nothing() -> None:
    opens = [event(1, "opened", days_ago=0.3), event(2, "opened", days_ago=0.2),
             event(3, "opened", days_ago=0.1), event(4, "opened")]
    result = score(opens, SCORING, {}, NOW)
    assert [c.event_id for c in result.contributions] == [1, 2, 3]
    assert result.of_event(4) is None
    half = Scoring.model_validate({"points": {"clicked": 5}, "caps": {"clicked": {"points": 7}}})
    clicks = score([event(1, "clicked", 1), event(2, "clicked")], half, {}, NOW)
    assert clicks.contributions[1].points == 2
    assert clicks.contributions[1].reason == "clicked: +2, capped at 7 per 7d"


def test_a_form_is_named_in_the_reason() -> None:
    forms = Scoring.model_validate({"points": {"form_submitted": 20}})
    result = score([event(1, "form_submitted", form="demo-request")], forms, {}, NOW)
    assert result.contributions[0].reason == "form_submitted form demo-request: +20"


def test_decay_is_multiplicative_so_a_stored_score_decays_without_its_events() -> None:
    events = [event(1, "replied", days_ago=10), event(2, "clicked", days_ago=3)]
    earlier = NOW - timedelta(days=2)
    at_earlier = score(events[:1], SCORING, {}, earlier).total + 5 * decay_factor(
        NOW - timedelta(days=3), earlier, 30)
    later = NOW + timedelta(days=17)
    assert at_earlier * decay_factor(earlier, later, 30) == pytest.approx(
        score(events, SCORING, {}, later).total, abs=1e-3)
    assert decay_factor(NOW, NOW - timedelta(days=1), 30) == 1.0  # no decay backwards
    assert decay_factor(NOW - timedelta(days=30), NOW, None) == 1.0


def test_decay_reaches_says_when_a_score_has_lost_a_step() -> None:
    when = decay_reaches(40.0, NOW, 30, 1.0)
    assert when is not None
    assert 40 - 40 * decay_factor(NOW, when, 30) == pytest.approx(1.0)
    assert decay_reaches(-40.0, NOW, 30, 1.0) == when  # negative scores decay towards 0 too
    assert decay_reaches(0.5, NOW, 30, 1.0) is None
    assert decay_reaches(40.0, NOW, None, 1.0) is None


def test_only_types_that_earn_points_are_scored_and_only_bonus_types_need_data() -> None:
    assert scored_types(SCORING) == {"opened", "clicked", "replied", "unsubscribed"}
    assert bonus_types(SCORING) == {"clicked"}


def test_fit_remembers_by_the_fields_its_conditions_read() -> None:
    tiers = Scoring.model_validate({"fit": {
        "A": "lead.custom.tier == 'gold' and lead.title is title_like('lead|head')",
        "B": "lead.employees >= 50"}})
    gold = {"employees": 10, "title": "Team Lead", "custom": {"tier": "gold"}}
    assert fit_grade(tiers, gold) == "A"
    assert fit_grade(tiers, {**gold, "custom": {"tier": "silver"}}) == "D"
    assert fit_grade(tiers, {**gold, "custom": {"tier": "silver"}, "employees": 60}) == "B"
    assert fit_grade(tiers, gold) == "A"


def test_fit_reading_the_whole_lead_is_evaluated_every_time() -> None:
    whole = Scoring.model_validate({"fit": {"A": "'vip' in lead.custom and lead | length > 2"}})
    assert fit_grade(whole, {"custom": {"vip": 1}, "a": 1, "b": 2}) == "A"
    assert fit_grade(whole, {"custom": {"vip": 1}}) == "D"


def test_bonuses_are_remembered_by_what_their_condition_reads() -> None:
    forms = Scoring.model_validate({"points": {"clicked": 5, "form_submitted": 20}, "bonus": [
        {"event": "clicked", "when": "'/pricing' in event.url", "points": 10},
        {"event": "form_submitted", "when": "event.data.form == 'demo' and lead.employees > 50",
         "points": 25},
        {"event": "form_submitted", "when": "'urgent' in event.data", "points": 1}]})
    for _ in range(2):  # the second time from memory
        assert score([event(1, "clicked", url="/pricing")], forms, {}, NOW).total == 15
        assert score([event(1, "clicked", url="/blog")], forms, {}, NOW).total == 5
        assert score([event(1, "clicked")], forms, {}, NOW).total == 5
        assert score([event(1, "form_submitted", form="demo")], forms,
                     {"employees": 60}, NOW).total == 45
        assert score([event(1, "form_submitted", form="demo")], forms,
                     {"employees": 10}, NOW).total == 20
        assert score([event(1, "form_submitted", form="x", urgent=True)], forms,
                     {}, NOW).total == 21
