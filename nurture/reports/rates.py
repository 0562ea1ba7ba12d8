"""The arithmetic of the reports, kept apart from the queries so it can be tested on its own.
Pure: no I/O. A rate over nothing is None ("no data"), never 0 or a division error."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def rate(part: float, whole: float) -> float | None:
    """`part / whole`, or None when `whole` is 0."""
    return part / whole if whole else None


def average(total: float, count: float) -> float | None:
    return total / count if count else None


def sales_velocity(opportunities: int, win_rate: float | None, average_deal: float | None,
                   cycle_days: float | None) -> float | None:
    """Value the pipeline closes per day: opportunities × win rate × average deal ÷ cycle.

    None when a factor is unknown (no closed deals, no won value) or the cycle is zero days.
    """
    if win_rate is None or average_deal is None or not cycle_days:
        return None
    return opportunities * win_rate * average_deal / cycle_days


def pipeline_needed(target: float, conversion_rate: float | None) -> float | None:
    """The pipeline value that, at `conversion_rate`, closes `target`: target ÷ rate."""
    return target / conversion_rate if conversion_rate else None


@dataclass(frozen=True)
class StepLoss:
    """How many leads entered a step and how many of them were lost from it."""

    stage: str
    entered: int
    lost: int

    @property
    def drop_off(self) -> float | None:
        return rate(self.lost, self.entered)


def bottleneck(steps: Sequence[StepLoss]) -> str | None:
    """The step with the highest drop-off rate; on a tie the one losing more leads, then the
    earlier one. None when no step lost anyone."""
    best: StepLoss | None = None
    for step in steps:
        if not step.lost:
            continue
        if best is None or (step.drop_off, step.lost) > (best.drop_off, best.lost):
            best = step
    return best.stage if best else None
