"""The funnel report: leads, value and time per stage now, and stage-to-stage conversion of the
leads that entered each step in the period, with the step losing most flagged as the bottleneck.

Conversion of a step S: of the leads that entered S in the period (each lead once, at its first
entry), how many later entered a later step or won (*advanced*; skipping steps counts), and how
many went to a lost stage or were disqualified without advancing (*lost*). The rest are still
open: in S, or moved back or out of the funnel. Outcomes are observed up to now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, case, func, select

from nurture.core.sequences import Pipeline
from nurture.reports.filters import Filters, Window
from nurture.reports.history import losses, rank_of, stage_entries
from nurture.reports.rates import StepLoss, bottleneck, rate
from nurture.reports.snapshot import StageNow, stages_now
from nurture.reports.stages import Funnel, funnel_of


@dataclass(frozen=True)
class StepConversion:
    stage: str
    label: str
    entered: int
    advanced: int
    lost: int
    still_open: int
    conversion_rate: float | None  # advanced ÷ entered
    drop_off_rate: float | None  # lost ÷ entered
    is_bottleneck: bool


@dataclass(frozen=True)
class FunnelReport:
    window: Window
    stages: list[StageNow]  # every stage of the pipeline, in order
    steps: list[StepConversion]  # the funnel's steps, in order
    bottleneck: str | None


def funnel_report(connection: Connection, pipeline: Pipeline, filters: Filters,
                  now: datetime) -> FunnelReport:
    funnel = funnel_of(pipeline)
    window = filters.window(now)
    counts = _step_counts(connection, funnel, filters, window)
    per_step = [(stage, *counts.get(stage, (0, 0, 0))) for stage in funnel.steps]
    worst = bottleneck([StepLoss(stage, entered, lost) for stage, entered, _, lost in per_step])
    steps = [StepConversion(stage, funnel.label(stage), entered, advanced, lost,
                            entered - advanced - lost, rate(advanced, entered),
                            rate(lost, entered), stage == worst)
             for stage, entered, advanced, lost in per_step]
    return FunnelReport(window, stages_now(connection, funnel, filters, now), steps, worst)


def _step_counts(connection: Connection, funnel: Funnel, filters: Filters,
                 window: Window) -> dict[str, tuple[int, int, int]]:
    """(entered, advanced, lost) per step, for the leads that entered it in `window`."""
    entries = stage_entries(filters.lead_conditions(), since=window.start)

    def highest_later(value: ColumnElement) -> ColumnElement:
        """The highest `value` among the lead's entries after this one."""
        return func.max(value).over(partition_by=entries.c.lead_id,
                                    order_by=(entries.c.at, entries.c.seq), rows=(1, None))

    is_loss = case((entries.c.stage.in_(losses(funnel)), 1), else_=0)
    followed = (select(entries.c.lead_id, entries.c.stage, entries.c.at,
                       highest_later(rank_of(funnel, entries.c.stage)).label("later_rank"),
                       highest_later(is_loss).label("later_loss"))
                .subquery("followed"))
    first = (select(followed.c.stage, followed.c.later_rank, followed.c.later_loss,
                    func.row_number().over(partition_by=(followed.c.lead_id, followed.c.stage),
                                           order_by=followed.c.at).label("nth"))
             .where(followed.c.at < window.end, followed.c.stage.in_(funnel.steps))
             .subquery("first"))
    advanced = first.c.later_rank > rank_of(funnel, first.c.stage)
    rows = connection.execute(
        select(first.c.stage, func.count(),
               func.sum(case((advanced, 1), else_=0)),
               func.sum(case((advanced, 0), (first.c.later_loss == 1, 1), else_=0)))
        .where(first.c.nth == 1).group_by(first.c.stage))
    return {stage: (int(n), int(up), int(down)) for stage, n, up, down in rows}
