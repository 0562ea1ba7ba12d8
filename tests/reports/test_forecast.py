"""The forecast report against hand-computed values on the world of world.py."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from nurture.reports.filters import Filters
from nurture.reports.forecast import ForecastReport, forecast_report
from tests.reports.world import FEBRUARY, NOW, PIPELINE


def report(engine: Engine, filters: Filters = FEBRUARY,
           target: float | None = None) -> ForecastReport:
    with engine.connect() as connection:
        return forecast_report(connection, PIPELINE, filters, NOW, target)


def test_the_open_pipeline_is_weighted_by_stage_probability(engine: Engine,
                                                            ids: dict[str, int]) -> None:
    found = report(engine)
    # Open: dee (new, no value), cy (qualified, 500), fay (qualified, 4000). ann was won, bob
    # lost, gus disqualified; won and lost stages are not part of the open pipeline.
    assert [(s.stage, s.leads, s.value, s.weighted_value) for s in found.stages] == [
        ("new", 1, 0.0, 0.0), ("qualified", 2, 4500.0, pytest.approx(1350.0)),
        ("proposal", 0, 0.0, 0.0), ("nurture", 0, 0.0, 0.0)]
    assert (found.open_leads, found.open_value) == (3, 4500.0)
    assert found.weighted_value == pytest.approx(1350.0)
    assert found.won_value == 4000.0  # ann and eve, won in February
    assert found.expected_value == pytest.approx(5350.0)
    assert (found.target, found.pipeline_needed, found.pipeline_gap) == (None, None, None)


def test_the_pipeline_needed_is_the_target_over_the_conversion_rate(
        engine: Engine, ids: dict[str, int]) -> None:
    found = report(engine, target=10_000)
    assert found.conversion_rate == pytest.approx(1 / 6)
    assert found.pipeline_needed == pytest.approx(60_000)
    assert found.pipeline_gap == pytest.approx(60_000 - 4500)


def test_all_time_for_one_source(engine: Engine, ids: dict[str, int]) -> None:
    found = report(engine, Filters(source="webinar"), target=1000)  # ann, bob and eve
    assert (found.open_leads, found.won_value, found.average_won_value) == (0, 4000.0, 2000.0)
    assert found.conversion_rate == pytest.approx(2 / 3)  # ann and eve were won
    assert found.pipeline_needed == pytest.approx(1500)


def test_a_covered_target_leaves_no_gap(engine: Engine, ids: dict[str, int]) -> None:
    found = report(engine, target=500)
    assert found.pipeline_needed == pytest.approx(3000)
    assert found.pipeline_gap == 0.0


def test_with_no_conversions_the_pipeline_needed_is_unknown(engine: Engine) -> None:
    found = report(engine, Filters(), target=10_000)
    assert (found.conversion_rate, found.pipeline_needed, found.pipeline_gap) == (None, None, None)
    assert found.open_leads == 0
