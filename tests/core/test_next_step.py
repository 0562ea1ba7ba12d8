"""The next step suggested to a rep: the strongest signal the lead gave wins."""

from __future__ import annotations

import pytest

from nurture.core.next_step import Signal, suggest_next_step


@pytest.mark.parametrize(("signals", "starts"), [
    ([], "Introduce yourself"),
    ([Signal("clicked", {"url": "https://x.test/blog/ops"})],
     "They clicked through to https://x.test/blog/ops"),
    ([Signal("page_visited", {"url": "https://x.test/pricing"}),
      Signal("clicked", {"url": "https://x.test/blog"})], "They looked at pricing"),
    ([Signal("form_submitted", {"form": "newsletter"}),
      Signal("clicked", {"url": "https://x.test/pricing"})],
     "They filled in a form (newsletter)"),
    ([Signal("form_submitted", {}), Signal("form_submitted", {"form": "demo-request"})],
     "They asked for a demo"),
    ([Signal("form_submitted", {"form": "demo-request"}), Signal("replied", {})],
     "They replied to one of our emails"),
    ([Signal("replied", {}), Signal("meeting_booked", {})], "A meeting is booked"),
])
def test_the_strongest_signal_decides(signals: list[Signal], starts: str) -> None:
    assert suggest_next_step(signals).startswith(starts)


def test_a_form_without_a_name_is_still_a_form() -> None:
    assert suggest_next_step([Signal("form_submitted", {})]) == (
        "They filled in a form: follow up on exactly what they asked for.")
