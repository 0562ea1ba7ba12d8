from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nurture.core.scoring import ScoredEvent, decayed, fit_grade, score
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
    assert reasons[0] == "clicked +5, bonus +10 ('/pricing' in event.url)"


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
