"""`nurture validate`: every file, field, expression and template checked before anything runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nurture.core.errors import NurtureError
from nurture.core.samples import FULL_LEAD, MINIMAL_LEAD, SAMPLE_OWNER
from nurture.core.sequences import MAX_TOUCHES, MIN_TOUCHES, Sequence
from nurture.files.loader import Project, read_project
from nurture.files.problems import Problem
from nurture.files.toml_lines import field_name, line_of
from nurture.render import RenderContext, TemplateRenderer


@dataclass
class Validation:
    """The outcome of validating a sequences folder against a templates folder."""

    project: Project
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


def validate(sequences_dir: Path, templates_dir: Path, sender: dict[str, str]) -> Validation:
    """Load everything and check it; problems come back sorted by file and line."""
    project, problems = read_project(sequences_dir)
    renderer = TemplateRenderer(templates_dir)
    for sequence in project.sequences:
        problems += _check_sequence(project, sequence, renderer, sender)
    problems.sort(key=lambda p: (p.file, p.line, p.severity))
    return Validation(project, problems)


def _check_sequence(
    project: Project, sequence: Sequence, renderer: TemplateRenderer, sender: dict[str, str]
) -> list[Problem]:
    file, lines = str(project.files[sequence.id]), project.lines[sequence.id]
    problems: list[Problem] = []

    def report(location: tuple[str | int, ...], message: str, severity: str = "error") -> None:
        problems.append(Problem(file, line_of(lines, location), field_name(location), message,
                                "warning" if severity == "warning" else "error"))

    count = len(sequence.touches)
    if not MIN_TOUCHES <= count <= MAX_TOUCHES:
        report(("touch",), f"{count} touches; a nurture sequence usually has "
               f"{MIN_TOUCHES} to {MAX_TOUCHES}", "warning")
    for index, touch in enumerate(sequence.touches):
        if touch.template:
            location: tuple[str | int, ...] = ("touch", index, "template")
            subjects = touch.subject or [""]
            for variant, subject in enumerate(subjects):
                where = location if variant == 0 else ("touch", index, "subject")
                for lead, kind in ((FULL_LEAD, "error"), (MINIMAL_LEAD, "warning")):
                    message = _render_problem(renderer, touch.template, subject,
                                              _context(lead, sequence, index, sender))
                    if message is None:
                        continue
                    if kind == "warning":
                        message = (f"fails for a lead with only an email address ({message}); "
                                   "give missing fields a fallback: {{ lead.company | "
                                   "default('your team') }}")
                    report(where, message, kind)
                    break
    return problems


def _render_problem(renderer: TemplateRenderer, template: str, subject: str,
                    context: RenderContext) -> str | None:
    try:
        renderer.render(template, subject, context)
    except NurtureError as exc:
        return str(exc)
    return None


def _context(lead: dict[str, Any], sequence: Sequence, index: int,
             sender: dict[str, str]) -> RenderContext:
    present = {k: v for k, v in lead.items() if v not in (None, "")}
    return RenderContext(
        lead=present, sender=sender, owner=SAMPLE_OWNER if lead is FULL_LEAD else None,
        sequence={"id": sequence.id, "name": sequence.name or sequence.id},
        touch_number=index + 1, unsubscribe_url="https://example.com/u/sample",
    )
