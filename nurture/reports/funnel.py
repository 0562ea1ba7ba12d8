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

from sqlalchemy import Connection

from nurture.core.sequences import Pipeline
from nurture.reports.entries import entry_groups, losses
from nurture.reports.filters import Filters, Window
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
    lost_in = frozenset(losses(funnel))
    counts: dict[str, tuple[int, int, int]] = {}
    for group in entry_groups(connection, filters, window, by_week=False):
        if group.stage not in funnel.steps or not group.first_in_period:
            continue
        advanced = funnel.advanced_from(group.stage, group.later)
        lost = not advanced and bool(group.later & lost_in)
        entered, up, down = counts.get(group.stage, (0, 0, 0))
        counts[group.stage] = (entered + group.n, up + group.n * advanced,
                               down + group.n * lost)
    return counts
