"""The funnel's shape, read from the pipeline: which stages are its steps and in what order,
which close a deal as won or lost, and where the sales cycle starts. Pure: no I/O.

Steps are the stages listed before the (first) won stage that have no outcome; stages listed
after it (e.g. "customer", a long-term "nurture") are outside the funnel. A lead *advances*
from a step when it later enters any later step or a won stage — so a lead that skips a step
still counts as converted from the step it left.
"""

from __future__ import annotations

from dataclasses import dataclass

from nurture.core.sequences import Pipeline, Stage


@dataclass(frozen=True)
class Funnel:
    """What the reports need to know about the pipeline's stages."""

    stages: tuple[Stage, ...]  # every stage, in pipeline order
    steps: tuple[str, ...]  # the funnel's steps in order
    won: tuple[str, ...]  # stages whose outcome is "won"
    lost: tuple[str, ...]  # stages whose outcome is "lost"
    qualification: str | None  # where the sales cycle starts

    def rank(self, stage: str) -> int | None:
        """Position along the funnel: steps count from 0, a won stage comes after every step."""
        if stage in self.won:
            return len(self.steps)
        return self.steps.index(stage) if stage in self.steps else None

    @property
    def ranks(self) -> dict[str, int]:
        return {stage: rank for stage in (*self.steps, *self.won)
                if (rank := self.rank(stage)) is not None}

    @property
    def qualified(self) -> tuple[str, ...]:
        """The qualification step, every later step and the won stages: a lead that enters
        any of them has become an opportunity."""
        if self.qualification is None:
            return (*self.steps, *self.won)
        start = self.steps.index(self.qualification)
        return (*self.steps[start:], *self.won)

    def advanced_from(self, stage: str, later: frozenset[str]) -> bool:
        """Whether a lead that entered step `stage` and then `later` advanced from it: entered
        a later step or a won stage (skipping steps counts)."""
        rank = self.rank(stage)
        return rank is not None and any((r := self.rank(s)) is not None and r > rank
                                        for s in later)

    def stage(self, stage_id: str) -> Stage | None:
        return next((s for s in self.stages if s.id == stage_id), None)

    def label(self, stage_id: str) -> str:
        stage = self.stage(stage_id)
        return stage.label if stage else stage_id

    def probability(self, stage_id: str) -> float:
        """A stage's win probability; 0 for a stage no longer in the pipeline."""
        stage = self.stage(stage_id)
        return stage.probability if stage else 0.0


def funnel_of(pipeline: Pipeline) -> Funnel:
    """The funnel of `pipeline`; qualification is its first step owned by sales (the handoff),
    or its first step when no step is."""
    stages = tuple(pipeline.stages)
    won_at = next((i for i, s in enumerate(stages) if s.outcome == "won"), len(stages))
    steps = tuple(s.id for s in stages[:won_at] if s.outcome is None)
    sales = next((s.id for s in stages[:won_at] if s.outcome is None and s.team == "sales"),
                 None)
    return Funnel(
        stages=stages,
        steps=steps,
        won=tuple(s.id for s in stages if s.outcome == "won"),
        lost=tuple(s.id for s in stages if s.outcome == "lost"),
        qualification=sales or (steps[0] if steps else None),
    )
