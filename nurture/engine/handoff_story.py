"""A lead's story as the notes to reps tell it: fields, fit, score and its reasons, the emails
sent and what the lead did with each, other activity, and a suggested next step.

Times are shown in the reader's time zone; lists keep the most recent entries.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection
from sqlmodel import Session

from nurture.core.next_step import Signal, suggest_next_step
from nurture.engine.facts import template_lead
from nurture.store.leads import lead_story
from nurture.store.models import Event, Lead

SHOWN = 8  # entries per list
BOOKKEEPING = frozenset({"handoff_requested", "stage_changed", "sent", "delivered"})


def story_variables(connection: Connection, lead_id: int, zone: ZoneInfo) -> dict[str, Any]:
    """The template variables describing lead `lead_id`; KeyError if it is gone."""
    with Session(bind=connection) as session:
        story = lead_story(session, lead_id)
    if story is None:
        raise KeyError(f"lead {lead_id} no longer exists")
    human = [e for e in story.events if not e.machine and e.type not in BOOKKEEPING]
    reactions: dict[int, Counter[str]] = {}
    for event in human:
        if event.outbox_id is not None:
            reactions.setdefault(event.outbox_id, Counter())[event.type] += 1
    emails = [{"subject": o.subject, "sent": when(o.sent_at or o.created_at, zone),
               "status": o.status, "reaction": _reaction(reactions.get(o.id or 0))}
              for o in story.outbox if o.status in ("sent", "sending")]
    activity = [{"when": when(e.at, zone), "what": e.type.replace("_", " "),
                 "detail": _detail(e)} for e in human if e.outbox_id is None]
    reasons = [{"when": when(c.at, zone), "delta": f"{c.delta:+g}",
                "score": f"{c.score_after:.0f}", "reason": c.reason}
               for c in story.score_changes]
    return {
        "lead": {**template_lead(story.lead), "name": display_name(story.lead)},
        "score": f"{story.lead.score:.0f}", "fit": story.lead.fit,
        "reasons": reasons[-SHOWN:], "more_reasons": max(0, len(reasons) - SHOWN),
        "emails": emails[-SHOWN:], "more_emails": max(0, len(emails) - SHOWN),
        "activity": activity[-SHOWN:], "more_activity": max(0, len(activity) - SHOWN),
        "next_step": suggest_next_step(Signal(e.type, e.data or {}) for e in human),
    }


def display_name(lead: Lead) -> str:
    name = " ".join(part for part in (lead.first_name, lead.last_name) if part)
    return name or lead.email


def when(moment: datetime | None, zone: ZoneInfo) -> str:
    """"Mon 2 Mar 09:15 EST": short, in the reader's zone."""
    if moment is None:
        return ""
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %H:%M %Z}"


def _reaction(counts: Counter[str] | None) -> str:
    if not counts:
        return "no reaction yet"
    return ", ".join(f"{kind.replace('_', ' ')} {n}×" for kind, n in sorted(counts.items()))


def _detail(event: Event) -> str:
    data = event.data or {}
    for name in ("url", "form", "note", "subject"):
        if data.get(name):
            return str(data[name])
    return ""
