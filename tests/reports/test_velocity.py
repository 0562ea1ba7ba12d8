"""The velocity report against hand-computed values on the world of world.py."""

from __future__ import annotations

from dataclasses import astuple, replace

import pytest
from sqlalchemy import Engine

from nurture.reports.filters import Filters
from nurture.reports.stages import funnel_of
from nurture.reports.velocity import (
    FlowCounts,
    VelocityReport,
    period_counts,
    velocity_report,
    weekly_counts,
)
from tests.reports.world import FEBRUARY, NOW, PIPELINE, day


def report(engine: Engine, filters: Filters = FEBRUARY) -> VelocityReport:
    with engine.connect() as connection:
        return velocity_report(connection, PIPELINE, filters, NOW)


def test_the_period_counts_conversion_cycle_and_velocity(engine: Engine,
                                                         ids: dict[str, int]) -> None:
    period = report(engine).period
    # Created in February: ann, bob, cy, dee, fay, gus; only ann was won (18 days after).
    assert (period.leads, period.converted) == (6, 1)
    assert period.conversion_rate == pytest.approx(1 / 6)
    assert period.average_days_to_convert == pytest.approx(18.0)
    # Opportunities: ann (Feb 5), bob (proposal Feb 6), fay (created qualified, Feb 10), cy
    # (Feb 22); eve qualified in January. cy's loss came before it qualified, gus never did.
    assert (period.opportunities, period.won, period.lost) == (4, 2, 1)
    assert period.win_rate == pytest.approx(2 / 3)
    assert (period.won_value, period.average_won_value) == (4000.0, 2000.0)
    # ann: Feb 5 → 20, eve: Jan 20 → Feb 25
    assert period.sales_cycle_days == pytest.approx((15 + 36) / 2)
    assert period.velocity_per_day == pytest.approx(4 * (2 / 3) * 2000 / 25.5)


def test_the_trend_has_every_week_of_the_period(engine: Engine, ids: dict[str, int]) -> None:
    weeks = report(engine).weeks
    assert [w.start for w in weeks] == [day(1, 26), day(2, 2), day(2, 9), day(2, 16),
                                        day(2, 23)]
    assert [(w.leads, w.opportunities, w.won, w.lost) for w in weeks] == [
        (0, 0, 0, 0), (4, 2, 0, 0), (2, 1, 0, 1), (0, 1, 1, 0), (0, 0, 1, 0)]
    assert [w.velocity_per_day for w in weeks[:3]] == [None, None, None]  # nothing won yet
    assert weeks[3].velocity_per_day == pytest.approx(1 * 1.0 * 1000 / 15)  # ann
    assert weeks[4].velocity_per_day == 0.0  # eve won, but no new opportunity that week


def test_without_a_start_the_trend_shows_twelve_weeks(engine: Engine,
                                                      ids: dict[str, int]) -> None:
    found = report(engine, Filters())
    assert len(found.weeks) == 12 and found.weeks[-1].start == day(3, 2)
    assert found.weeks[-1].leads == 1  # hal
    assert (found.period.leads, found.period.opportunities, found.period.won) == (8, 5, 2)
    assert found.period.average_days_to_convert == pytest.approx((18 + 46) / 2)  # ann, eve


def test_filters_narrow_the_leads(engine: Engine, ids: dict[str, int]) -> None:
    ads = report(engine, replace(FEBRUARY, source="ads")).period  # cy, dee, gus
    assert (ads.leads, ads.converted, ads.opportunities, ads.won, ads.lost) == (3, 0, 1, 0, 0)
    assert (ads.win_rate, ads.average_won_value, ads.velocity_per_day) == (None, None, None)
    owned = report(engine, replace(FEBRUARY, owner=ids["rita"])).period  # ann, eve
    assert (owned.leads, owned.opportunities, owned.won, owned.won_value) == (1, 1, 2, 4000.0)


@pytest.mark.parametrize("filters", [FEBRUARY, Filters(), Filters(source="webinar"),
                                     Filters(source="ads"), replace(FEBRUARY, industry="retail")])
def test_the_period_counts_read_at_once_are_what_the_weeks_add_up_to(
        engine: Engine, ids: dict[str, int], filters: Filters) -> None:
    funnel = funnel_of(PIPELINE)
    with engine.connect() as connection:
        window = filters.window(NOW)
        weekly = sum(weekly_counts(connection, funnel, filters, window).values(), FlowCounts())
        at_once = period_counts(connection, funnel, filters, window)
    assert astuple(at_once) == pytest.approx(astuple(weekly))
    assert at_once.leads > 0


def test_an_empty_database_has_no_rates(engine: Engine) -> None:
    period = report(engine).period
    assert (period.leads, period.conversion_rate, period.win_rate, period.sales_cycle_days,
            period.velocity_per_day) == (0, None, None, None, None)
