"""Leads per stage as they are now: how many, their deal value, how long they have been there
and how many are past the stage's `max_days`. Disqualified leads are left out.

The funnel report shows every lead; the forecast only the open pipeline: leads in a stage with
no outcome that never entered a won stage (a customer was counted when its deal was won). Both
read only the lead index ix_lead_snapshot (stage, status, creation, entry, value, visited).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, case, func, literal, select

from nurture.reports.filters import Filters
from nurture.reports.sql import LEADS, days_between, moment
from nurture.reports.stages import Funnel
from nurture.store.sql import unindexed
from nurture.store.stage_sets import holds

OUT_OF_PIPELINE = ("disqualified",)  # lead statuses the snapshot leaves out


@dataclass(frozen=True)
class StageNow:
    stage: str
    label: str
    probability: float
    max_days: int | None
    leads: int
    value: float  # total deal value (leads without one count 0)
    weighted_value: float  # value × probability
    average_days: float | None  # in the stage, until now
    over_limit: int  # leads in the stage longer than max_days
    is_defined: bool = True  # False for a stage no longer in the pipeline


def stages_now(connection: Connection, funnel: Funnel, filters: Filters, now: datetime, *,
               open_only: bool = False) -> list[StageNow]:
    """One row per stage in pipeline order (stages no lead is in included, with zeros), then
    any stage leads are in that the pipeline no longer defines."""
    # Every lead through ix_lead_snapshot alone, rather than those of a period through the
    # creation index and then the lead rows, which costs more even for a tenth of the leads;
    # a lead filter needs the rows anyway.
    created = LEADS.c.created_at if filters.selects_leads else unindexed(LEADS.c.created_at)
    conditions = [filters.window(now).holds(created), LEADS.c.status.not_in(OUT_OF_PIPELINE),
                  *filters.lead_conditions()]
    if open_only:
        outcomes = (*funnel.won, *funnel.lost)
        conditions += [LEADS.c.stage.not_in(outcomes),
                       *(~holds(LEADS.c.visited, stage) for stage in funnel.won)]
    rows = connection.execute(
        select(LEADS.c.stage, func.count(), func.coalesce(func.sum(LEADS.c.deal_value), 0.0),
               func.avg(days_between(LEADS.c.stage_entered_at, moment(now))),
               func.sum(case((LEADS.c.stage_entered_at < _limit(funnel, now), 1), else_=0)))
        .where(*conditions).group_by(LEADS.c.stage))
    found = {stage: (int(n), float(value), days, int(over or 0))
             for stage, n, value, days, over in rows}
    result = []
    for stage in funnel.stages:
        if open_only and stage.outcome is not None:
            continue
        leads, value, days, over = found.pop(stage.id, (0, 0.0, None, 0))
        result.append(StageNow(stage.id, stage.label, stage.probability, stage.max_days, leads,
                               value, value * stage.probability, days, over))
    return result + [StageNow(stage, stage, 0.0, None, leads, value, 0.0, days, over,
                              is_defined=False)
                     for stage, (leads, value, days, over) in sorted(found.items())]


def _limit(funnel: Funnel, now: datetime) -> ColumnElement:
    """The moment before which a lead has been in its stage longer than the stage allows."""
    limits = {s.id: moment(now - timedelta(days=s.max_days)) for s in funnel.stages if s.max_days}
    return case(limits, value=LEADS.c.stage) if limits else literal(None)
