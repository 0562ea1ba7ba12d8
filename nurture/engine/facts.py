"""Turning a stored lead into what the core and the templates see."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from nurture.core.decisions import LeadFacts
from nurture.core.expressions import LEAD_FIELDS
from nurture.core.windows import holiday_calendar, parse_zone
from nurture.store.models import Lead

NEVER_ENGAGED_DAYS = 10_000
_RENDERED = ("email", "first_name", "last_name", "company", "title", "industry", "employees",
             "source", "country", "region", "timezone", "phone", "website", "deal_value",
             "stage", "status", "score", "fit")


@lru_cache(maxsize=1024)
def zone_of(name: str | None, default: str) -> ZoneInfo:
    """The lead's time zone, or the configured default when it has none or a bad one."""
    if name:
        try:
            return parse_zone(name)
        except ValueError:
            pass
    return parse_zone(default)


@lru_cache(maxsize=512)
def holidays_of(country: str | None, year: int) -> frozenset:
    return holiday_calendar(country, (year, year + 1))


def holiday_country(spec: str | None, lead: Lead) -> str | None:
    """A sequence's `send_window.holidays`: "lead" means the lead's own country."""
    return lead.country if spec == "lead" else spec


def lead_facts(lead: Lead, default_zone: str, now: datetime, *, holidays_in: str | None = None,
               is_suppressed: bool = False) -> LeadFacts:
    """The facts a decision needs; `holidays_in` is a country whose public holidays are skipped."""
    assert lead.id is not None
    return LeadFacts(
        id=lead.id, email=lead.email, status=lead.status, stage=lead.stage,
        zone=zone_of(lead.timezone, default_zone), paused_until=lead.paused_until,
        is_suppressed=is_suppressed,
        holidays=holidays_of(holidays_in, now.year) if holidays_in else frozenset(),
    )


def condition_context(lead: Lead, now: datetime, *, touches_sent: int = 0,
                      sequence_finished: bool = False) -> dict[str, Any]:
    """The documented context of rule and enrollment conditions (see core.expressions.DOCS)."""
    fields = {name: getattr(lead, name, None) for name in LEAD_FIELDS}
    fields["custom"] = dict(lead.custom or {})
    fields["owner"] = lead.owner_id
    engaged = lead.last_engaged_at
    return {
        "lead": fields,
        "score": lead.score,
        "fit": lead.fit,
        "stage": lead.stage,
        "days_in_stage": max(0, (now - lead.stage_entered_at).days),
        "days_since_engagement": (now - engaged).days if engaged else NEVER_ENGAGED_DAYS,
        "touches_sent": touches_sent,
        "sequence_finished": sequence_finished,
    }


def template_lead(lead: Lead) -> dict[str, Any]:
    """The lead as templates see it: only fields with a value, so `default()` fallbacks work."""
    present: dict[str, Any] = {}
    for name in _RENDERED:
        value = getattr(lead, name, None)
        if value is not None and value != "":
            present[name] = value
    present["custom"] = dict(lead.custom or {})
    return present


def sender_context(name: str, email: str, postal_address: str) -> Mapping[str, str]:
    return {"name": name, "email": email, "postal_address": postal_address}
