"""The reports' arithmetic, without a database."""

from __future__ import annotations

import pytest

from nurture.reports.rates import (
    StepLoss,
    average,
    bottleneck,
    pipeline_needed,
    rate,
    sales_velocity,
)


def test_a_rate_over_nothing_is_unknown_not_zero() -> None:
    assert rate(1, 4) == 0.25
    assert rate(0, 4) == 0.0
    assert rate(0, 0) is None
    assert average(30, 4) == 7.5 and average(0, 0) is None


def test_velocity_is_opportunities_times_win_rate_times_deal_over_cycle() -> None:
    assert sales_velocity(40, 0.25, 12_000, 60) == pytest.approx(2000.0)
    assert sales_velocity(0, 0.5, 1000, 10) == 0.0


@pytest.mark.parametrize("win_rate, deal, cycle", [(None, 1000, 10), (0.5, None, 10),
                                                   (0.5, 1000, None), (0.5, 1000, 0)])
def test_velocity_is_unknown_when_a_factor_is(win_rate: float | None, deal: float | None,
                                             cycle: float | None) -> None:
    assert sales_velocity(10, win_rate, deal, cycle) is None


def test_pipeline_needed_is_target_over_conversion() -> None:
    assert pipeline_needed(50_000, 0.2) == pytest.approx(250_000)
    assert pipeline_needed(50_000, None) is None
    assert pipeline_needed(50_000, 0.0) is None


def test_the_bottleneck_is_the_highest_drop_off_rate_not_the_most_leads_lost() -> None:
    steps = [StepLoss("new", 100, 30), StepLoss("qualified", 10, 5), StepLoss("proposal", 4, 1)]
    assert bottleneck(steps) == "qualified"


def test_a_drop_off_tie_goes_to_more_leads_lost_then_to_the_earlier_step() -> None:
    assert bottleneck([StepLoss("a", 10, 5), StepLoss("b", 20, 10)]) == "b"
    assert bottleneck([StepLoss("a", 10, 5), StepLoss("b", 10, 5)]) == "a"


def test_no_losses_means_no_bottleneck() -> None:
    assert bottleneck([StepLoss("a", 10, 0), StepLoss("b", 0, 0)]) is None
    assert bottleneck([]) is None
