"""The sources report against hand-computed values on the world of world.py."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Engine

from nurture.reports.filters import Filters
from nurture.reports.sources import Segment, SourcesReport, sources_report
from tests.reports.world import FEBRUARY, NOW, PIPELINE


def report(engine: Engine, filters: Filters = FEBRUARY) -> SourcesReport:
    with engine.connect() as connection:
        return sources_report(connection, PIPELINE, filters, NOW)


def test_leads_conversion_and_value_per_source(engine: Engine, ids: dict[str, int]) -> None:
    assert report(engine).sources == [
        Segment("ads", 3, 0, 0.0, 500.0, 0.0),  # cy, dee, gus
        Segment("webinar", 2, 1, 0.5, 3000.0, 1000.0),  # ann (won), bob
        Segment("event", 1, 0, 0.0, 4000.0, 0.0),  # fay
    ]


def test_leads_conversion_and_value_per_industry(engine: Engine, ids: dict[str, int]) -> None:
    # Case is ignored, as in the filters: cy's "Retail" is ann's "retail".
    assert report(engine).industries == [
        Segment("(none)", 3, 0, 0.0, 4000.0, 0.0),  # dee, fay, gus
        Segment("Retail", 2, 1, 0.5, 1500.0, 1000.0),  # ann (won), cy
        Segment("software", 1, 0, 0.0, 2000.0, 0.0),  # bob
    ]


def test_filters_narrow_the_leads(engine: Engine, ids: dict[str, int]) -> None:
    owned = report(engine, replace(FEBRUARY, owner=ids["rita"]))
    assert owned.sources == [Segment("webinar", 1, 1, 1.0, 1000.0, 1000.0)]  # ann
    everyone = report(engine, Filters())
    assert [(s.name, s.leads, s.won) for s in everyone.sources] == [
        ("ads", 4, 0), ("webinar", 3, 2), ("event", 1, 0)]
