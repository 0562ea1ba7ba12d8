"""The funnel's shape as read from a pipeline, including the repository's example."""

from __future__ import annotations

from pathlib import Path

from nurture.core.sequences import Pipeline
from nurture.files.loader import load_project
from nurture.reports.stages import funnel_of
from tests.reports.world import PIPELINE

REPO = Path(__file__).parents[2]


def test_the_example_pipeline_funnel_stops_at_won_and_qualification_is_the_handoff() -> None:
    funnel = funnel_of(load_project(REPO / "sequences").pipeline)
    assert funnel.steps == ("prospecting", "mql", "sql", "meeting", "proposal", "negotiation")
    assert (funnel.won, funnel.lost, funnel.qualification) == (("won",), ("lost",), "sql")
    assert funnel.qualified == ("sql", "meeting", "proposal", "negotiation", "won")
    assert funnel.rank("won") == 6 and funnel.rank("nurture") is None
    assert funnel.rank("customer") is None


def test_ranks_and_labels() -> None:
    funnel = funnel_of(PIPELINE)
    assert funnel.ranks == {"new": 0, "qualified": 1, "proposal": 2, "won": 3}
    assert funnel.label("qualified") == "Qualified" and funnel.label("gone") == "gone"
    assert funnel.probability("proposal") == 0.6 and funnel.probability("gone") == 0.0


def test_without_a_sales_stage_the_cycle_starts_at_the_first_step() -> None:
    pipeline = Pipeline.model_validate({"stage": [
        {"id": "lead", "probability": 0.1}, {"id": "deal", "probability": 0.5},
        {"id": "closed", "probability": 1.0, "outcome": "won"}]})
    funnel = funnel_of(pipeline)
    assert funnel.qualification == "lead"
    assert funnel.qualified == ("lead", "deal", "closed")


def test_a_pipeline_without_a_won_stage_has_every_stage_as_a_step() -> None:
    pipeline = Pipeline.model_validate({"stage": [
        {"id": "a", "probability": 0.1}, {"id": "b", "team": "sales", "probability": 0.5},
        {"id": "gone", "probability": 0.0, "outcome": "lost"}]})
    funnel = funnel_of(pipeline)
    assert (funnel.steps, funnel.won, funnel.lost, funnel.qualification) == (
        ("a", "b"), (), ("gone",), "b")
