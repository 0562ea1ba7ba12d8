"""Read pipeline.toml and sequences/<stage>/*.toml into typed models, collecting every problem
with its file, line and field instead of stopping at the first.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from nurture.core.rules import ANY_STAGE
from nurture.core.sequences import Pipeline, Sequence
from nurture.files.problems import Problem, ProblemsFound
from nurture.files.toml_lines import field_name, key_lines, line_of

PIPELINE_FILE = "pipeline.toml"
STALE_STATUSES = ("disqualified",)  # on_stale may name a status instead of a stage
_TOML_POSITION = re.compile(r"\(at line (\d+), column \d+\)")
Model = TypeVar("Model", bound=BaseModel)


@dataclass
class Project:
    """Everything loaded from a sequences folder, plus where each sequence came from."""

    pipeline: Pipeline
    sequences: list[Sequence]
    pipeline_file: Path = Path(PIPELINE_FILE)
    pipeline_lines: dict[tuple[str | int, ...], int] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)  # sequence id → file
    lines: dict[str, dict[tuple[str | int, ...], int]] = field(default_factory=dict)

    def sequences_for(self, stage: str) -> list[Sequence]:
        return [s for s in self.sequences if s.stage == stage]

    def sequence(self, sequence_id: str) -> Sequence | None:
        return next((s for s in self.sequences if s.id == sequence_id), None)


LineMap = dict[tuple[str | int, ...], int]


def load_model(
    path: Path, model: type[Model], label: str | None = None
) -> tuple[Model | None, list[Problem], LineMap]:
    """Parse one TOML file into `model`; return the model (or None), its problems and line map."""
    name = label or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(name, 0, "", f"cannot read the file: {exc}")], {}
    lines = key_lines(text)
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_POSITION.search(str(exc))
        message = _TOML_POSITION.sub("", str(exc)).strip()
        line = int(found.group(1)) if found else 0
        return None, [Problem(name, line, "", f"TOML syntax: {message}")], lines
    except RecursionError:
        return None, [Problem(name, 0, "", "TOML syntax: arrays or tables nested too deeply")], \
            lines
    try:
        return model.model_validate(data), [], lines
    except ValidationError as exc:
        return None, [_problem(name, lines, error) for error in exc.errors()], lines


def _problem(name: str, lines: dict, error: Any) -> Problem:
    location = tuple(error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if error["type"] == "extra_forbidden":
        message = "unknown field (check the spelling; see `nurture validate --schema`)"
    elif error["type"] == "missing":
        message = "required field is missing"
    return Problem(name, line_of(lines, location), field_name(location), message)


def read_project(sequences_dir: Path) -> tuple[Project, list[Problem]]:
    """Load pipeline.toml and every sequence below `sequences_dir`, with the problems found."""
    problems: list[Problem] = []
    pipeline_path = sequences_dir / PIPELINE_FILE
    if not pipeline_path.is_file():
        problems.append(Problem(str(pipeline_path), 0, "", "pipeline.toml is missing"))
        pipeline, pipeline_lines = None, dict[tuple[str | int, ...], int]()
    else:
        pipeline, found, pipeline_lines = load_model(pipeline_path, Pipeline)
        problems += found
    project = Project(pipeline=pipeline or Pipeline.model_construct(stages=[], rules=[]),
                      sequences=[], pipeline_file=pipeline_path, pipeline_lines=pipeline_lines)
    for path in sorted(p for p in sequences_dir.rglob("*.toml") if p != pipeline_path):
        sequence, found, lines = load_model(path, Sequence)
        problems += found
        if sequence is None:
            continue
        if sequence.id in project.files:
            first = project.files[sequence.id]
            problems.append(Problem(str(path), line_of(lines, ("id",)), "id",
                                    f"sequence id {sequence.id!r} is already used by {first}"))
            continue
        project.sequences.append(sequence)
        project.files[sequence.id] = path
        project.lines[sequence.id] = lines
    if pipeline is not None:
        problems += check_references(project)
    return project, problems


def load_project(sequences_dir: Path) -> Project:
    """The project, or ProblemsFound listing every error (warnings do not stop it)."""
    project, problems = read_project(sequences_dir)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ProblemsFound(errors)
    return project


def check_references(project: Project) -> list[Problem]:
    """Stages named by rules, stale moves and sequences must exist."""
    stage_ids = {s.id for s in project.pipeline.stages}
    problems: list[Problem] = []

    def missing(file: Path, lines: dict, location: tuple[str | int, ...], stage: str) -> None:
        if stage not in stage_ids:
            known = ", ".join(sorted(stage_ids))
            problems.append(Problem(str(file), line_of(lines, location), field_name(location),
                                    f"no stage {stage!r} in pipeline.toml (stages: {known})"))

    pipeline_file, pipeline_lines = project.pipeline_file, project.pipeline_lines
    for index, stage in enumerate(project.pipeline.stages):
        if stage.on_stale and stage.on_stale not in STALE_STATUSES:
            missing(pipeline_file, pipeline_lines, ("stage", index, "on_stale"), stage.on_stale)
    for index, rule in enumerate(project.pipeline.rules):
        for source in rule.from_:
            if source != ANY_STAGE:
                missing(pipeline_file, pipeline_lines, ("rule", index, "from"), source)
        missing(pipeline_file, pipeline_lines, ("rule", index, "to"), rule.to)
    if project.pipeline.entry_stage:
        missing(pipeline_file, pipeline_lines, ("entry_stage",), project.pipeline.entry_stage)
    for sequence in project.sequences:
        missing(project.files[sequence.id], project.lines[sequence.id], ("stage",), sequence.stage)
    return problems
