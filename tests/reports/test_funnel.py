"""The funnel report against hand-computed values on the world of world.py."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import Engine

from nurture.reports.entries import row_entries
from nurture.reports.filters import Filters
from nurture.reports.funnel import FunnelReport, funnel_report
from nurture.reports.periods import period_of
from nurture.reports.snapshot import StageNow
from tests.plans import query_plan
from tests.reports.world import FEBRUARY, NOW, PIPELINE


def report(engine: Engine, filters: Filters = FEBRUARY) -> FunnelReport:
    with engine.connect() as connection:
        return funnel_report(connection, PIPELINE, filters, NOW)


def steps(found: FunnelReport) -> dict[str, tuple[int, int, int, int]]:
    return {s.stage: (s.entered, s.advanced, s.lost, s.still_open) for s in found.steps}


def test_conversion_counts_each_lead_once_and_skips_count_as_advancing(
        engine: Engine, ids: dict[str, int]) -> None:
    found = report(engine)
    # new: ann, bob (skips qualified), cy (lost, recycled, qualified), dee (stays), fay (back to
    # new, then qualified again), gus (disqualified). eve entered in January, hal in March.
    # qualified: ann, cy, fay (twice, counted once; never went further). proposal: ann, bob, eve.
    assert steps(found) == {"new": (6, 4, 1, 1), "qualified": (3, 1, 0, 2),
                            "proposal": (3, 2, 1, 0)}
    rates = {s.stage: (s.conversion_rate, s.drop_off_rate) for s in found.steps}
    assert rates["new"] == pytest.approx((4 / 6, 1 / 6))
    assert rates["qualified"] == pytest.approx((1 / 3, 0.0))
    assert rates["proposal"] == pytest.approx((2 / 3, 1 / 3))


def test_the_step_losing_the_largest_share_is_the_bottleneck(engine: Engine,
                                                             ids: dict[str, int]) -> None:
    found = report(engine)
    assert found.bottleneck == "proposal"
    assert [s.stage for s in found.steps if s.is_bottleneck] == ["proposal"]


def test_stages_now_show_leads_value_and_time_including_empty_stages(
        engine: Engine, ids: dict[str, int]) -> None:
    found = report(engine)
    # Leads created in February, as they are at NOW (Mar 2 12:00): gus is disqualified.
    assert found.stages == [
        StageNow("new", "New", 0.1, 10, 1, 0.0, 0.0, 25.5, 1),  # dee, since Feb 5
        StageNow("qualified", "Qualified", 0.3, 20, 2, 4500.0, 1350.0, 11.5, 0),  # 8.5, 14.5 d
        StageNow("proposal", "Proposal", 0.6, None, 0, 0.0, 0.0, None, 0),
        StageNow("won", "Won", 1.0, None, 1, 1000.0, 1000.0, 10.5, 0),  # ann
        StageNow("lost", "Lost", 0.0, None, 1, 2000.0, 0.0, 15.5, 0),  # bob
        StageNow("nurture", "Nurture", 0.05, None, 0, 0.0, 0.0, None, 0),
    ]


def test_average_days_in_stage_are_floats_on_every_database(engine: Engine,
                                                           ids: dict[str, int]) -> None:
    # Equal is not enough: Decimal("11.5") == 11.5, but json.dumps refuses a Decimal.
    days = [s.average_days for s in report(engine).stages if s.average_days is not None]
    assert days and all(type(d) is float for d in days)


def test_without_a_period_every_lead_and_entry_counts(engine: Engine,
                                                      ids: dict[str, int]) -> None:
    found = report(engine, Filters())
    # eve's entries count now, and hal's entry into new (Mar 2 06:00, before NOW).
    assert steps(found) == {"new": (8, 5, 1, 2), "qualified": (4, 2, 0, 2),
                            "proposal": (3, 2, 1, 0)}
    by_stage = {s.stage: s for s in found.stages}
    assert (by_stage["new"].leads, by_stage["new"].over_limit) == (2, 1)  # dee and hal
    assert (by_stage["won"].leads, by_stage["won"].value) == (2, 4000.0)  # ann and eve


def test_filters_narrow_the_leads(engine: Engine, ids: dict[str, int]) -> None:
    retail = report(engine, replace(FEBRUARY, industry="RETAIL"))  # ann, cy and eve
    assert steps(retail) == {"new": (2, 2, 0, 0), "qualified": (2, 1, 0, 1),
                             "proposal": (2, 2, 0, 0)}
    assert retail.bottleneck is None
    nudged = report(engine, replace(FEBRUARY, sequence="nudge"))  # fay
    assert steps(nudged) == {"new": (1, 1, 0, 0), "qualified": (1, 0, 0, 1),
                             "proposal": (0, 0, 0, 0)}
    owned = report(engine, replace(FEBRUARY, owner=ids["rita"]))  # ann (eve entered in Jan)
    assert steps(owned)["new"] == (1, 1, 0, 0)
    assert steps(owned)["proposal"] == (2, 2, 0, 0)


def test_all_time_for_one_source_counts_each_leads_first_entry(engine: Engine,
                                                               ids: dict[str, int]) -> None:
    # Read from the entries of the source alone (ix_stage_entry_source), first entries summed.
    assert steps(report(engine, Filters(source="webinar"))) == {  # ann, bob, eve
        "new": (3, 3, 0, 0), "qualified": (2, 2, 0, 0), "proposal": (3, 2, 1, 0)}
    # fay was created in qualified, went back to new and entered qualified again: one entry.
    assert steps(report(engine, Filters(source="event"))) == {
        "new": (1, 1, 0, 0), "qualified": (1, 0, 0, 1), "proposal": (0, 0, 0, 0)}
    # cy advanced (lost, recycled, then qualified), gus was disqualified, dee and hal wait.
    ads = report(engine, Filters(source="ADS"))
    assert steps(ads) == {"new": (4, 1, 1, 2), "qualified": (1, 0, 0, 1),
                          "proposal": (0, 0, 0, 0)}
    assert ads.bottleneck == "new"


@pytest.mark.parametrize("by_week", [False, True])
def test_one_sources_entries_are_read_from_their_own_index(engine: Engine,
                                                           by_week: bool) -> None:
    filters = Filters(source="webinar")
    query = row_entries(period_of(filters.window(NOW), by_rows=True), filters, by_week)
    assert query is not None
    with engine.connect() as connection:
        plan = query_plan(connection, str(query.compile(
            dialect=connection.dialect, compile_kwargs={"literal_binds": True})))
    assert "ix_stage_entry_source" in plan, plan
    if engine.dialect.name == "sqlite" and not by_week:  # grouped in the index's order
        assert "COVERING INDEX" in plan and "TEMP B-TREE" not in plan, plan


def test_an_empty_database_gives_zeros_and_no_bottleneck(engine: Engine) -> None:
    found = report(engine)
    assert steps(found) == {"new": (0, 0, 0, 0), "qualified": (0, 0, 0, 0),
                            "proposal": (0, 0, 0, 0)}
    assert found.bottleneck is None
    assert [s.conversion_rate for s in found.steps] == [None, None, None]
    assert all(s.leads == 0 and s.average_days is None for s in found.stages)
