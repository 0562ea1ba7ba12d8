"""Sample data used to check templates and conditions before anything runs."""

from __future__ import annotations

from typing import Any

from nurture.core.expressions import LEAD_FIELDS

FULL_LEAD: dict[str, Any] = {
    "email": "ada.lovelace@example.com",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "company": "Analytical Engines Ltd",
    "title": "VP Operations",
    "industry": "software",
    "employees": 250,
    "source": "webinar",
    "country": "GB",
    "region": "EMEA",
    "timezone": "Europe/London",
    "phone": "+44 20 7946 0000",
    "website": "https://example.com",
    "deal_value": 24000.0,
    "stage": "prospecting",
    "status": "active",
    "score": 12.0,
    "fit": "A",
    "custom": {},
}
MINIMAL_LEAD: dict[str, Any] = {"email": "someone@example.com", "stage": "prospecting",
                                "status": "active", "score": 0.0, "fit": "D", "custom": {}}
SAMPLE_OWNER: dict[str, str] = {"name": "Sam Rivera", "email": "sam@example.com"}


def condition_context(lead: dict[str, Any]) -> dict[str, Any]:
    """A full condition context around `lead`, for checking conditions evaluate."""
    full = {name: lead.get(name) for name in LEAD_FIELDS}
    full["custom"] = lead.get("custom") or {}
    return {
        "lead": full, "score": lead.get("score", 0.0), "fit": lead.get("fit", "D"),
        "stage": lead.get("stage", ""), "days_in_stage": 3, "days_since_engagement": 10,
        "touches_sent": 2, "sequence_finished": False, "opened_in_sequence": True,
        "clicked_in_sequence": False, "replied_in_sequence": False, "touch_number": 2,
        "event": {"type": "clicked", "url": "https://example.com/pricing", "data": {}},
    }
