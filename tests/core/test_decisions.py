from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from nurture.core.decisions import (
    Defer,
    EnrollmentFacts,
    Finish,
    LeadFacts,
    Send,
    Skip,
    Stop,
    choose_variant,
    decide,
    next_touch_time,
)
from nurture.core.samples import FULL_LEAD, condition_context
from nurture.core.sequences import Sequence

PARIS = ZoneInfo("Europe/Paris")
# Tuesday 2026-11-24, 10:00 in Paris.
TUESDAY_10 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def make_sequence(**touch_overrides: object) -> Sequence:
    touches = [{"wait": "0d", "template": "a.md.j2", "subject": ["A", "B"]},
               {"wait": "3d", "template": "b.md.j2", "subject": "S",
                "skip_when": "clicked_in_sequence"},
               {"wait": "2 business days", "kind": "task", "task": "Call them"}]
    touches[0].update(touch_overrides)
    return Sequence.model_validate({
        "id": "intro", "stage": "prospecting",
        "send_window": {"days": "mon-fri", "from": "09:00", "to": "17:30"}, "touch": touches,
    })


def lead(**changes: object) -> LeadFacts:
    values: dict = {"id": 7, "email": "ann@example.com", "status": "active",
                    "stage": "prospecting", "zone": PARIS}
    values.update(changes)
    return LeadFacts(**values)


def enrollment(position: int = 0, **engagement: bool) -> EnrollmentFacts:
    return EnrollmentFacts(1, "intro", "prospecting", position, TUESDAY_10, engagement)


CONTEXT = condition_context(FULL_LEAD)


def test_a_due_touch_inside_the_window_is_sent() -> None:
    decision = decide(make_sequence(), enrollment(), lead(), TUESDAY_10, CONTEXT)
    assert isinstance(decision, Send) and decision.touch_index == 0


@pytest.mark.parametrize("status", ["unsubscribed", "bounced", "suppressed", "disqualified",
                                    "converted"])
def test_leads_that_must_not_be_mailed_stop_the_enrollment(status: str) -> None:
    decision = decide(make_sequence(), enrollment(), lead(status=status), TUESDAY_10, CONTEXT)
    assert decision == Stop(f"lead {status}")


def test_a_suppressed_address_stops_even_an_active_lead() -> None:
    decision = decide(make_sequence(), enrollment(), lead(is_suppressed=True), TUESDAY_10, CONTEXT)
    assert decision == Stop("lead suppressed")


def test_a_lead_that_changed_stage_stops_the_old_stages_sequence() -> None:
    decision = decide(make_sequence(), enrollment(), lead(stage="mql"), TUESDAY_10, CONTEXT)
    assert decision == Stop("stage_changed")


def test_a_paused_lead_resumes_where_it_was() -> None:
    until = TUESDAY_10 + timedelta(days=5)
    decision = decide(make_sequence(), enrollment(1), lead(paused_until=until), TUESDAY_10,
                      CONTEXT)
    assert decision == Defer(until, "lead paused")
    after = decide(make_sequence(), enrollment(1), lead(paused_until=until), until, CONTEXT)
    assert not isinstance(after, Defer) or after.reason != "lead paused"


def test_outside_the_window_the_touch_waits_for_the_next_opening() -> None:
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    decision = decide(make_sequence(), enrollment(), lead(), saturday, CONTEXT)
    assert decision == Defer(datetime(2026, 11, 30, 8, 0, tzinfo=UTC), "outside send window")


def test_skip_when_reads_the_enrollments_engagement() -> None:
    decision = decide(make_sequence(), enrollment(1, clicked_in_sequence=True), lead(),
                      TUESDAY_10, CONTEXT)
    assert isinstance(decision, Skip) and decision.touch_index == 1
    not_clicked = decide(make_sequence(), enrollment(1), lead(), TUESDAY_10, CONTEXT)
    assert isinstance(not_clicked, Send)


def test_past_the_last_touch_the_enrollment_finishes() -> None:
    assert decide(make_sequence(), enrollment(3), lead(), TUESDAY_10, CONTEXT) == Finish()


def test_variants_are_stable_per_lead_and_spread_across_leads() -> None:
    first = choose_variant("ann@example.com", "intro", 0, 2)
    assert all(choose_variant("ann@example.com", "intro", 0, 2) == first for _ in range(5))
    spread = Counter(choose_variant(f"lead{i}@example.com", "intro", 0, 2) for i in range(1000))
    assert 400 < spread[0] < 600


def test_next_touch_time_counts_the_wait_from_the_send_and_lands_in_the_window() -> None:
    sequence = make_sequence()
    due = next_touch_time(sequence, 1, TUESDAY_10, lead(), jitter_spread=timedelta(0))
    assert due == TUESDAY_10 + timedelta(days=3)  # Friday 10:00 Paris
    task_due = next_touch_time(sequence, 2, datetime(2026, 11, 27, 9, 0, tzinfo=UTC), lead(),
                               jitter_spread=timedelta(0))
    assert task_due == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # two business days after Friday
    assert next_touch_time(sequence, 3, TUESDAY_10, lead()) is None


def test_jitter_spreads_leads_but_stays_in_the_window() -> None:
    sequence = make_sequence()
    times = {next_touch_time(sequence, 1, TUESDAY_10, lead(id=i), timedelta(minutes=10))
             for i in range(50)}
    assert len(times) > 10
    assert all(TUESDAY_10 + timedelta(days=3) <= t < TUESDAY_10 + timedelta(days=3, minutes=10)
               for t in times if t is not None)
