"""The next step a rep is advised to take with a handed-off lead, from what the lead did.

The strongest signal wins: a booked meeting, a reply, a demo request, another form, a look at
pricing, other clicks; with none of these, an introduction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Signal:
    """One thing the lead did: an event type and its data (url, form, …)."""

    type: str
    data: Mapping[str, Any]


def suggest_next_step(signals: Iterable[Signal]) -> str:
    """One sentence for the rep, from the lead's events (machine events left out)."""
    seen = list(signals)
    types = {signal.type for signal in seen}
    forms = [str(s.data.get("form", "")) for s in seen if s.type == "form_submitted"]
    urls = [str(s.data.get("url", "")) for s in seen if s.type in ("clicked", "page_visited")]
    if "meeting_booked" in types:
        return "A meeting is booked: confirm the time with them and prepare from the story below."
    if "replied" in types:
        return "They replied to one of our emails: answer that thread yourself, today."
    if any("demo" in form for form in forms):
        return "They asked for a demo: call them and book it while the interest is fresh."
    if forms:
        named = next((form for form in forms if form), "")
        what = f" ({named})" if named else ""
        return f"They filled in a form{what}: follow up on exactly what they asked for."
    if any("/pricing" in url for url in urls):
        return "They looked at pricing: call to talk through plans, seats and budget."
    if urls:
        return f"They clicked through to {urls[-1]}: open with that topic."
    return "Introduce yourself by phone or a short personal email."
