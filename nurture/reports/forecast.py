"""The forecast report: the open pipeline weighted by each stage's win probability, what was
won in the period, and the pipeline needed to reach a target at the period's conversion rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from nurture.core.sequences import Pipeline
from nurture.reports.filters import Filters, Window
from nurture.reports.rates import pipeline_needed
from nurture.reports.snapshot import StageNow, stages_now
from nurture.reports.stages import funnel_of
from nurture.reports.velocity import period_counts, summarize


@dataclass(frozen=True)
class ForecastReport:
    window: Window
    stages: list[StageNow]  # the open pipeline per stage (stages without an outcome)
    open_leads: int
    open_value: float
    weighted_value: float  # Σ deal value × stage probability over the open pipeline
    won_value: float  # deals won in the period
    expected_value: float  # won + weighted
    conversion_rate: float | None  # leads created in the period and won by now
    average_won_value: float | None
    target: float | None
    pipeline_needed: float | None  # target ÷ conversion rate
    pipeline_gap: float | None  # pipeline needed beyond the open pipeline (0 when covered)


def forecast_report(connection: Connection, pipeline: Pipeline, filters: Filters,
                    now: datetime, target: float | None = None) -> ForecastReport:
    funnel = funnel_of(pipeline)
    window = filters.window(now)
    stages = stages_now(connection, funnel, filters, now, open_only=True)
    counts = period_counts(connection, funnel, filters, window)
    period = summarize(counts, window.start, window.end)
    open_value = sum(s.value for s in stages)
    weighted = sum(s.weighted_value for s in stages)
    needed = None if target is None else pipeline_needed(target, period.conversion_rate)
    return ForecastReport(
        window, stages, sum(s.leads for s in stages), open_value, weighted, period.won_value,
        period.won_value + weighted, period.conversion_rate, period.average_won_value, target,
        needed, None if needed is None else max(needed - open_value, 0.0))
