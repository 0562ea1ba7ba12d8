from __future__ import annotations

from pathlib import Path

import pytest

from nurture.files.loader import load_project, read_project
from nurture.files.problems import ProblemsFound
from tests.files.conftest import sequence_text


def errors_of(sequences: Path) -> list[str]:
    _, problems = read_project(sequences)
    return [str(p) for p in problems if p.severity == "error"]


def write_sequence(sequences: Path, text: str) -> Path:
    path = sequences / "prospecting" / "cold-intro.toml"
    path.write_text(text)
    return path


def test_a_valid_folder_loads_into_typed_models(project_dirs: tuple[Path, Path]) -> None:
    project = load_project(project_dirs[0])
    assert [s.id for s in project.pipeline.stages] == ["prospecting", "qualification"]
    assert project.pipeline.rules[0].from_ == ["prospecting"]
    assert [s.id for s in project.sequences_for("prospecting")] == ["cold-intro"]
    assert project.sequences[0].touches[1].delay.delta.days == 3


def test_toml_syntax_error_names_file_and_line(project_dirs: tuple[Path, Path]) -> None:
    path = write_sequence(project_dirs[0], sequence_text().replace('wait = "3d"', 'wait = 3d"', 1))
    [error] = errors_of(project_dirs[0])
    line = path.read_text().splitlines().index('wait = 3d"') + 1
    assert error.startswith(f"{path}:{line}: TOML syntax")


def test_bad_wait_names_the_touch_and_its_line(project_dirs: tuple[Path, Path]) -> None:
    text = sequence_text().replace('wait = "3d"', 'wait = "3 fortnights"', 1)
    path = write_sequence(project_dirs[0], text)
    line = text.splitlines().index('wait = "3 fortnights"') + 1
    assert errors_of(project_dirs[0]) == [
        f"{path}:{line}: touch[2].wait: unknown unit 'fortnights' in '3 fortnights': "
        "use m, h, d, w or \"N business days\""
    ]


def test_unknown_field_is_named(project_dirs: tuple[Path, Path]) -> None:
    text = sequence_text().replace('template = "intro.md.j2"', 'templte = "intro.md.j2"', 1)
    path = write_sequence(project_dirs[0], text)
    errors = errors_of(project_dirs[0])
    line = text.splitlines().index('templte = "intro.md.j2"') + 1
    assert f"{path}:{line}: touch[1].templte: unknown field" in errors[0]


def test_bad_send_window_is_named(project_dirs: tuple[Path, Path]) -> None:
    text = sequence_text().replace('to = "17:30"', 'to = "08:00"')
    path = write_sequence(project_dirs[0], text)
    [error] = errors_of(project_dirs[0])
    assert error.startswith(f"{path}:3: send_window: the window must end after it starts")


def test_bad_expression_names_the_field_and_the_unknown_name(
    project_dirs: tuple[Path, Path],
) -> None:
    path = write_sequence(project_dirs[0], sequence_text(head='enroll_when = "scoer > 3"\n'))
    [error] = errors_of(project_dirs[0])
    assert error.startswith(f"{path}:3: enroll_when: unknown name 'scoer'")


def test_expression_syntax_error_in_pipeline_is_located(project_dirs: tuple[Path, Path]) -> None:
    pipeline = project_dirs[0] / "pipeline.toml"
    text = pipeline.read_text().replace("score >= 40 and", "score >= and")
    pipeline.write_text(text)
    [error] = errors_of(project_dirs[0])
    line = next(n for n, t in enumerate(text.splitlines(), 1) if t.startswith("when = \"score"))
    assert error.startswith(f"{pipeline}:{line}: rule[1].when: ")
    assert "score >= and fit" in error and "does not parse" in error


def test_rule_to_unknown_stage_is_named(project_dirs: tuple[Path, Path]) -> None:
    pipeline = project_dirs[0] / "pipeline.toml"
    text = pipeline.read_text().replace('to = "qualification"', 'to = "qualified"')
    pipeline.write_text(text)
    [error] = errors_of(project_dirs[0])
    line = text.splitlines().index('to = "qualified"') + 1
    assert error.startswith(f"{pipeline}:{line}: rule[1].to: no stage 'qualified'")


def test_sequence_for_unknown_stage_is_named(project_dirs: tuple[Path, Path]) -> None:
    path = write_sequence(project_dirs[0], sequence_text().replace('stage = "prospecting"',
                                                                  'stage = "prospect"'))
    assert errors_of(project_dirs[0]) == [
        f"{path}:2: stage: no stage 'prospect' in pipeline.toml "
        "(stages: prospecting, qualification)"
    ]


def test_missing_required_field_points_at_its_table(project_dirs: tuple[Path, Path]) -> None:
    text = sequence_text().replace('template = "intro.md.j2"\n', "", 1)
    path = write_sequence(project_dirs[0], text)
    [error] = errors_of(project_dirs[0])
    assert error == f"{path}:5: touch[1]: an email touch needs a template"


def test_duplicate_sequence_id_is_an_error(project_dirs: tuple[Path, Path]) -> None:
    copy = project_dirs[0] / "prospecting" / "copy.toml"
    copy.write_text(sequence_text())
    [error] = errors_of(project_dirs[0])
    assert error.startswith(f"{copy}:1: id: sequence id 'cold-intro' is already used")


def test_load_project_raises_with_every_error(project_dirs: tuple[Path, Path]) -> None:
    text = sequence_text().replace('wait = "3d"', 'wait = "x"').replace('days = "mon-fri"',
                                                                        'days = "mon-fry"')
    write_sequence(project_dirs[0], text)
    with pytest.raises(ProblemsFound) as caught:
        load_project(project_dirs[0])
    assert len(caught.value.problems) == 6  # five bad waits and one bad window
