"""A lead's story as one timeline, oldest first: sequences joined, emails, events (what the lead
did, and what the engine recorded), score changes and stage moves. Pure: the story in, rows
out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nurture.store.leads import LeadStory

ENGINE_EVENTS = frozenset({"sent", "stage_changed"})  # already told by an email or a stage row


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str  # "sequence", "email", "event", "score" or "stage"
    what: str
    detail: str = ""


def timeline(story: LeadStory) -> list[Entry]:
    sequences = {e.id: e.sequence_id for e in story.enrollments}
    entries = [Entry(e.created_at, "sequence", f"enrolled in {e.sequence_id}",
                     e.status + (f" ({e.stop_reason})" if e.stop_reason else ""))
               for e in story.enrollments]
    entries += [Entry(o.sent_at or o.created_at, "email", o.subject,
                      f"{sequences.get(o.enrollment_id, '?')} touch {o.touch_index + 1}, "
                      f"variant {chr(ord('A') + o.variant)}: {o.status}"
                      + (f" ({o.reason})" if o.reason else ""))
                for o in story.outbox]
    entries += [Entry(e.at, "event", e.type.replace("_", " ") + (" (machine)" if e.machine
                                                                   else ""), _details(e.data))
                for e in story.events if e.type not in ENGINE_EVENTS]
    entries += [Entry(c.at, "score", f"score {c.delta:+.1f} → {c.score_after:.1f}", c.reason)
                for c in story.score_changes]
    entries += [Entry(c.at, "stage", f"{c.from_stage or 'new lead'} → {c.to_stage}",
                      c.reason if c.rule is None or c.rule in c.reason
                      else f"rule {c.rule}: {c.reason}")
                for c in story.stage_changes]
    return sorted(entries, key=lambda entry: entry.at)


def _details(data: dict | None) -> str:
    return ", ".join(f"{key}={value}" for key, value in (data or {}).items())
