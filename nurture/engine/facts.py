"""Turning a stored lead into what the core and the templates see."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from operator import attrgetter
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, bindparam, select

from nurture.core.decisions import LeadFacts
from nurture.core.expressions import LEAD_FIELDS
from nurture.core.windows import holiday_calendar, parse_zone
from nurture.store.models import Enrollment, Lead, Outbox

NEVER_ENGAGED_DAYS = 10_000
OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
ENROLLMENTS = Enrollment.__table__  # type: ignore[attr-defined]
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


def condition_context(lead: Any, now: datetime, *, touches_sent: int = 0,
                      sequence_finished: bool = False, score: float | None = None,
                      fit: str | None = None, fields: dict[str, Any] | None = None,
                      last_engaged_at: datetime | None = None) -> dict[str, Any]:
    """The documented context of rule and enrollment conditions (see core.expressions.DOCS).

    `lead` is a Lead or a lead row; `score`, `fit` and `last_engaged_at`, when given, replace
    the stored ones (the score decayed to `now`, a grade just computed, an engagement being
    recorded); `stay_facts` gives touches_sent and sequence_finished; `fields` is
    `lead_fields(lead)` when the caller has it already."""
    fields = dict(fields) if fields is not None else lead_fields(lead)
    if score is not None:
        fields["score"] = score
    if fit is not None:
        fields["fit"] = fit
    engaged = last_engaged_at or lead.last_engaged_at
    return {
        "lead": fields,
        "score": fields["score"],
        "fit": fields["fit"],
        "stage": lead.stage,
        "days_in_stage": max(0, (now - lead.stage_entered_at).days),
        "days_since_engagement": (now - engaged).days if engaged else NEVER_ENGAGED_DAYS,
        "touches_sent": touches_sent,
        "sequence_finished": sequence_finished,
    }


def lead_fields(lead: Any) -> dict[str, Any]:
    """`lead` in conditions: its fields, custom fields as a dict, the owner's id as `owner`."""
    fields = dict(zip(_STORED_FIELDS, _read_fields(lead), strict=True))
    fields["custom"] = dict(lead.custom or {})
    fields["owner"] = lead.owner_id
    return fields


_STORED_FIELDS = tuple(name for name in LEAD_FIELDS if name not in ("custom", "owner"))
_read_fields = attrgetter(*_STORED_FIELDS)  # a Lead or a lead row; a sweep reads millions


@dataclass(frozen=True)
class StayFacts:
    """What happened in a lead's current stay in its stage (since `stage_entered_at`)."""

    touches_sent: int = 0
    sequence_finished: bool = False


_SENT = select(OUTBOX.c.lead_id, OUTBOX.c.status, OUTBOX.c.sent_at).where(
    OUTBOX.c.lead_id.in_(bindparam("lead_ids", expanding=True)),
    OUTBOX.c.sent_at >= bindparam("since", type_=OUTBOX.c.sent_at.type))
_STAYS = select(ENROLLMENTS.c.lead_id, ENROLLMENTS.c.status,
                ENROLLMENTS.c.stage_entered_at).where(
    ENROLLMENTS.c.lead_id.in_(bindparam("lead_ids", expanding=True)))


def stay_facts(connection: Connection, leads: Iterable[Any]) -> dict[int, StayFacts]:
    """`touches_sent` (emails sent since the lead entered its stage) and `sequence_finished`
    (it was enrolled in this stay and every such enrollment ran to its end), for each lead
    (a Lead or a lead row), in two queries whatever the number of leads."""
    entered = {lead.id: lead.stage_entered_at for lead in leads}
    if not entered:
        return {}
    sent: dict[int, int] = dict.fromkeys(entered, 0)
    # The status is checked here, not in SQL: the lead_id index is then the planner's only
    # choice (see batch._recent_sends).
    ids = list(entered)
    for lead_id, status, sent_at in connection.execute(
            _SENT, {"lead_ids": ids, "since": min(entered.values())}):
        if status == "sent" and sent_at >= entered[lead_id]:
            sent[lead_id] += 1
    statuses: dict[int, set[str]] = {}
    for lead_id, status, stay in connection.execute(_STAYS, {"lead_ids": ids}):
        if stay == entered[lead_id]:
            statuses.setdefault(lead_id, set()).add(status)
    return {lead_id: StayFacts(sent[lead_id], statuses.get(lead_id) == {"finished"})
            for lead_id in entered}


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
