"""The note templates: the shipped ones compile; a broken or missing one is named."""

from __future__ import annotations

import shutil
from pathlib import Path

from nurture.engine.notes import NOTE_TEMPLATES, check_note_templates, one_line

REPO_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_the_shipped_note_templates_compile() -> None:
    assert check_note_templates(REPO_TEMPLATES) == []
    assert all((REPO_TEMPLATES / name).is_file() for name in NOTE_TEMPLATES)


def test_a_broken_or_missing_note_template_is_named(tmp_path: Path) -> None:
    for name in NOTE_TEMPLATES:
        shutil.copy(REPO_TEMPLATES / name, tmp_path / name)
    (tmp_path / "_digest.md.j2").write_text("Hi\n{% for lead in new_leads %}\n")
    (tmp_path / "_sla_reminder.md.j2").unlink()

    problems = check_note_templates(tmp_path)

    assert problems[0].startswith("_sla_reminder.md.j2: missing from")
    assert problems[1].startswith("_digest.md.j2:2: syntax error")
    assert len(problems) == 2


def test_a_subject_is_one_line_and_not_too_long() -> None:
    assert one_line("New lead:\r\n  Pat\tQuinn") == "New lead: Pat Quinn"
    assert len(one_line("x" * 500)) == 180 and one_line("x" * 500).endswith("…")
