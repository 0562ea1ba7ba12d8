"""Printing a lead's story for `nurture leads show`."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console
from rich.table import Table

from nurture.core.sequences import Scoring
from nurture.engine.scoring import explain
from nurture.store.leads import LeadStory

FIELDS = ("email", "first_name", "last_name", "company", "title", "industry", "employees",
          "source", "country", "region", "timezone", "phone", "website", "deal_value",
          "stage", "status", "score", "fit", "owner_id", "paused_until", "stage_entered_at",
          "last_engaged_at", "created_at")


def _when(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if hasattr(value, "strftime") else str(value or "")


def print_story(console: Console, story: LeadStory, scoring: Scoring | None = None,
                now: datetime | None = None) -> None:
    """Everything about the lead; with `scoring` and `now`, what its score is made of now."""
    lead = story.lead
    fields = Table(show_header=False, box=None, title=f"Lead {lead.email}", title_justify="left")
    for name in FIELDS:
        value = getattr(lead, name)
        if value not in (None, "", {}):
            fields.add_row(name, _when(value) if name.endswith(("_at", "_until")) else str(value))
    for key, value in (lead.custom or {}).items():
        fields.add_row(f"custom.{key}", str(value))
    console.print(fields)
    if scoring is not None and now is not None:
        total, lines = explain(lead, story.events, scoring, now)
        _table(console, f"Score now: {total:.1f}, made of", ("when", "for", "points",
                                                             "worth now"),
               [(_when(line.at), line.reason, f"{line.points:+g}", f"{line.worth_now:+.1f}")
                for line in lines])
    _table(console, "Stage history", ("when", "from", "to", "why", "score"),
           [(_when(c.at), c.from_stage or "", c.to_stage, _why(c.rule, c.reason),
             f"{c.score_before:.1f}") for c in story.stage_changes])
    _table(console, "Score history", ("when", "change", "score", "reason", "event"),
           [(_when(c.at), f"{c.delta:+.1f}", f"{c.score_after:.1f}", c.reason,
             str(c.event_id or "")) for c in story.score_changes])
    _table(console, "Sequences", ("sequence", "stage", "next touch", "status", "next due"),
           [(e.sequence_id, e.stage, str(e.position + 1), e.status + (
               f" ({e.stop_reason})" if e.stop_reason else ""), _when(e.next_touch_at))
            for e in story.enrollments])
    _table(console, "Emails", ("created", "touch", "subject", "status", "sent", "reason"),
           [(_when(o.created_at), str(o.touch_index + 1), o.subject, o.status,
             _when(o.sent_at), o.reason or "") for o in story.outbox])
    _table(console, "Events", ("id", "when", "type", "details"),
           [(str(e.id), _when(e.at), e.type + (" (machine)" if e.machine else ""),
             ", ".join(f"{k}={v}" for k, v in (e.data or {}).items())) for e in story.events])


def _why(rule: str | None, reason: str) -> str:
    """The reason, which names its rule ("promote by rule mql: …") unless written elsewhere."""
    return reason if rule is None or rule in reason else f"rule {rule}: {reason}"


def _table(console: Console, title: str, columns: tuple[str, ...],
           rows: list[tuple[str, ...]]) -> None:
    if not rows:
        console.print(f"[bold]{title}[/bold]: none")
        return
    table = Table(*columns, title=title, title_justify="left")
    for row in rows:
        table.add_row(*row)
    console.print(table)
