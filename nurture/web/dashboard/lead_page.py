"""What the lead page shows: the lead's fields, its score over time (a line and its numbers)
and its timeline. Pure: the story in, template values out."""

from __future__ import annotations

from typing import Any

from nurture.reports.tables import Column, Table
from nurture.store.leads import LeadStory
from nurture.web.dashboard.charts import Series, line_chart
from nurture.web.dashboard.formats import formatter, shown, when
from nurture.web.dashboard.timeline import timeline

FIELDS = ("email", "first_name", "last_name", "company", "title", "industry", "employees",
          "source", "country", "region", "timezone", "phone", "website", "deal_value",
          "stage", "status", "score", "fit", "paused_until", "stage_entered_at",
          "last_engaged_at", "created_at")


def lead_values(story: LeadStory, owner: str | None) -> dict[str, Any]:
    lead = story.lead
    fields = [(name.replace("_", " "), _field(name, getattr(lead, name))) for name in FIELDS
              if getattr(lead, name) not in (None, "")]
    fields += [(f"custom.{key}", str(value)) for key, value in (lead.custom or {}).items()]
    if owner:
        fields.append(("owner", owner))
    changes = story.score_changes
    chart = table = None
    if changes:
        chart = line_chart("Score over time", [f"{c.at:%-d %b}" for c in changes],
                           [Series("score", [c.score_after for c in changes])],
                           formatter("score"))
        table = Table("Score changes", (Column("when"), Column("change"), Column("score")),
                      [(when(c.at), f"{c.delta:+.1f}", shown(c.score_after, "score"))
                       for c in changes])
    name = " ".join(part for part in (lead.first_name, lead.last_name) if part)
    return {"title": name or lead.email, "lead": lead, "owner": owner, "fields": fields,
            "score_chart": chart, "score_table": table, "entries": timeline(story)}


def _field(name: str, value: Any) -> str:
    if name.endswith(("_at", "_until")):
        return when(value)
    if name == "deal_value":
        return shown(value, "money")
    if name == "score":
        return shown(value, "score")
    return str(value)
