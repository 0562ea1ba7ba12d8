"""Which stages leads can get to along rules, time limits and extra moves."""

from __future__ import annotations

from typing import Any

from nurture.core.reach import reachable_stages
from nurture.core.sequences import Pipeline


def _pipeline(rules: list[dict[str, Any]], **stale: str) -> Pipeline:
    stages = [{"id": name, "probability": 0.1} for name in ("new", "warm", "hot", "won", "lost",
                                                                 "orphan")]
    stages[3]["outcome"] = "won"
    for stage in stages:
        if stage["id"] in stale:
            stage.update(max_days=10, on_stale=stale[stage["id"]])
    return Pipeline.model_validate({"stage": stages, "rule": rules})


def _rule(source: str | list[str], target: str) -> dict[str, Any]:
    return {"name": f"to-{target}", "from": source, "to": target, "when": "score > 1"}


def test_stages_are_reached_along_rules_and_time_limits() -> None:
    pipeline = _pipeline([_rule("new", "warm"), _rule("warm", "hot")], hot="lost")
    assert reachable_stages(pipeline) == {"new", "warm", "hot", "lost"}


def test_extra_moves_count_and_a_stage_nothing_leads_to_is_not_reached() -> None:
    pipeline = _pipeline([_rule("new", "warm")])
    assert reachable_stages(pipeline, [("warm", "won")]) == {"new", "warm", "won"}
    assert "orphan" not in reachable_stages(pipeline, [("warm", "won")])


def test_a_rule_from_any_stage_starts_from_every_stage_but_the_won_one() -> None:
    pipeline = _pipeline([_rule("*", "lost"), _rule("won", "orphan"), _rule("lost", "hot")])
    assert reachable_stages(pipeline) == {"new", "lost", "hot"}
