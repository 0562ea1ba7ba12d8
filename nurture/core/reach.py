"""Which stages of a pipeline leads can get to from the first one: along its rules, its stages'
time limits (`on_stale`) and any other moves the caller knows of (e.g. reps moving deals)."""

from __future__ import annotations

from collections.abc import Iterable

from nurture.core.rules import ANY_STAGE
from nurture.core.sequences import Pipeline


def reachable_stages(pipeline: Pipeline, more: Iterable[tuple[str, str]] = ()) -> set[str]:
    """The stages reachable from the first stage; `more` adds moves (from, to)."""
    edges: dict[str, set[str]] = {}
    for rule in pipeline.rules:
        sources = [stage.id for stage in pipeline.stages if not stage.is_terminal] \
            if ANY_STAGE in rule.from_ else rule.from_
        for source in sources:
            edges.setdefault(source, set()).add(rule.to)
    for stage in pipeline.stages:
        if stage.on_stale:
            edges.setdefault(stage.id, set()).add(stage.on_stale)
    for source, target in more:
        edges.setdefault(source, set()).add(target)
    seen, todo = {pipeline.first_stage}, [pipeline.first_stage]
    while todo:
        for target in edges.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen
