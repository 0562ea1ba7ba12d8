"""Every lead's path through the stages, as SQL: one row per entry into a stage, and per lead
the moments that matter (qualified, won, last lost).

Stage changes are stored as they happen, but a lead's first stage is not: it is entered when
the lead is created, and is the `from_stage` of its first change (or its current stage, when
it never moved). A creation stored as a change with no `from_stage` is used as is.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    case,
    exists,
    func,
    literal,
    select,
    union_all,
)

from nurture.files.loader import STALE_STATUSES
from nurture.reports.filters import Filters, Window
from nurture.reports.sql import LEADS, STAGE_CHANGES
from nurture.reports.stages import Funnel


def losses(funnel: Funnel) -> tuple[str, ...]:
    """Where a lost lead goes: a lost stage, or a status such as "disqualified" (which a
    stale stage's `on_stale` may name)."""
    return (*funnel.lost, *STALE_STATUSES)


def rank_of(funnel: Funnel, stage: ColumnElement[str]) -> ColumnElement[int]:
    """The funnel rank of `stage` (NULL outside the funnel), as SQL."""
    ranks = funnel.ranks
    return case(ranks, value=stage) if ranks else literal(None)


def stage_entries(conditions: list[ColumnElement[bool]],
                  since: datetime | None = None) -> Subquery:
    """(lead_id, stage, at, seq) per entry into a stage of the leads that meet `conditions`
    (on LEADS), from `since` on; `seq` orders entries at one instant (the creation first)."""
    changes: Select = select(STAGE_CHANGES.c.lead_id, STAGE_CHANGES.c.to_stage.label("stage"),
                             STAGE_CHANGES.c.at, STAGE_CHANGES.c.id.label("seq"))
    if conditions:
        changes = changes.where(exists().where(LEADS.c.id == STAGE_CHANGES.c.lead_id,
                                               *conditions))
    if since is not None:
        changes = changes.where(STAGE_CHANGES.c.at >= since)
        conditions = [*conditions, LEADS.c.created_at >= since]
    never_moved = (select(LEADS.c.id, LEADS.c.stage, LEADS.c.created_at, literal(0))
                   .where(~exists().where(STAGE_CHANGES.c.lead_id == LEADS.c.id), *conditions))
    return union_all(changes, never_moved, _first_stages(conditions)).subquery("entries")


def _first_stages(conditions: list[ColumnElement[bool]]) -> Select:
    """The creation entries of leads that moved: into their first change's `from_stage`, unless
    that change is the creation itself (no `from_stage`)."""
    nth = func.row_number().over(partition_by=STAGE_CHANGES.c.lead_id,
                                 order_by=(STAGE_CHANGES.c.at, STAGE_CHANGES.c.id))
    changes = select(STAGE_CHANGES.c.lead_id, STAGE_CHANGES.c.from_stage,
                     nth.label("nth")).subquery("ordered")
    return (select(changes.c.lead_id, changes.c.from_stage, LEADS.c.created_at, literal(0))
            .join(LEADS, LEADS.c.id == changes.c.lead_id)
            .where(changes.c.nth == 1, changes.c.from_stage.is_not(None), *conditions))


def milestones(funnel: Funnel, filters: Filters, created: Window | None = None) -> Select:
    """Per lead (created in `created`, when given): created_at, deal_value, source, industry
    and the moments it first became an opportunity (`qualified_at`), was first won (`won_at`)
    and was last lost (`lost_at`)."""
    conditions = filters.lead_conditions()
    if created is not None:
        conditions.append(created.holds(LEADS.c.created_at))
    entries = stage_entries(conditions)

    def entered(stages: tuple[str, ...]) -> ColumnElement:
        return case((entries.c.stage.in_(stages), entries.c.at))

    per_lead = (select(entries.c.lead_id,
                       func.min(entered(funnel.qualified)).label("qualified_at"),
                       func.min(entered(funnel.won)).label("won_at"),
                       func.max(entered(losses(funnel))).label("lost_at"))
                .where(entries.c.stage.in_((*funnel.qualified, *losses(funnel))))
                .group_by(entries.c.lead_id).subquery("per_lead"))
    return (select(LEADS.c.id.label("lead_id"), LEADS.c.created_at, LEADS.c.deal_value,
                   LEADS.c.source, LEADS.c.industry, per_lead.c.qualified_at, per_lead.c.won_at,
                   per_lead.c.lost_at)
            .outerjoin(per_lead, per_lead.c.lead_id == LEADS.c.id)
            .where(*conditions))
