"""`nurture validate`: every file, field, expression and template checked before anything runs.

Templates are checked where a marketer would fix them: a missing or broken body template at the
touch's `template` line, a subject that fails at its `subject` line, a task text at its `task`
line. Each is rendered for a full sample lead (a failure is an error) and for a lead with only an
email address (a failure is a warning: the text needs a fallback for missing fields).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment

from nurture.core.errors import NurtureError
from nurture.core.samples import FULL_LEAD, MINIMAL_LEAD, SAMPLE_OWNER
from nurture.core.sequences import MAX_TOUCHES, MIN_TOUCHES, Sequence
from nurture.files.loader import Project, read_project
from nurture.files.problems import Problem
from nurture.files.toml_lines import field_name, line_of
from nurture.render import RenderContext, TemplateRenderer
from nurture.render.environment import build_environment, translated_errors

Severity = Literal["error", "warning"]
Location = tuple[str | int, ...]
SAMPLES: tuple[tuple[dict[str, Any], Severity], ...] = (
    (FULL_LEAD, "error"), (MINIMAL_LEAD, "warning"),
)
_PLAIN_SUBJECT = "Subject"  # renders the body alone, so its failures are not the subject's


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
    """Load everything and check it; problems come back once each, sorted by file and line."""
    project, problems = read_project(sequences_dir)
    tools = _Tools(templates_dir, TemplateRenderer(templates_dir),
                   build_environment(templates_dir, autoescape=False), sender)
    for sequence in project.sequences:
        problems += _SequenceCheck(tools, project, sequence).problems()
    unique = list(dict.fromkeys(problems))
    unique.sort(key=lambda p: (p.file, p.line, p.severity))
    return Validation(project, unique)


@dataclass(frozen=True)
class _Tools:
    """What checking templates needs, built once for all sequences."""

    templates_dir: Path
    renderer: TemplateRenderer
    text_env: Environment  # task texts: plain text, no HTML escaping
    sender: dict[str, str]


class _SequenceCheck:
    """The checks of one sequence that need more than its own file: templates and texts."""

    def __init__(self, tools: _Tools, project: Project, sequence: Sequence) -> None:
        self.tools = tools
        self.sequence = sequence
        self.file, self.lines = str(project.files[sequence.id]), project.lines[sequence.id]
        self.found: list[Problem] = []

    def problems(self) -> list[Problem]:
        count = len(self.sequence.touches)
        if not MIN_TOUCHES <= count <= MAX_TOUCHES:
            first_odd = ("touch", 0 if count < MIN_TOUCHES else MAX_TOUCHES)
            self._report(first_odd, f"{count} touches; a nurture sequence usually has "
                         f"{MIN_TOUCHES} to {MAX_TOUCHES}", "warning", field="touch")
        for index, touch in enumerate(self.sequence.touches):
            template_ok = touch.template is None or self._template_compiles(index, touch.template)
            if touch.kind == "email" and touch.template and template_ok:
                self._check_email(index, touch.template, touch.subject)
            if touch.task:
                self._check_task(index, touch.task)
        return self.found

    def _report(self, location: Location, message: str, severity: Severity = "error",
                field: str | None = None) -> None:
        self.found.append(Problem(self.file, line_of(self.lines, location),
                                  field or field_name(location), message, severity))

    def _template_compiles(self, index: int, template: str) -> bool:
        """The body template exists and compiles (with what it includes, and the layout)."""
        location = ("touch", index, "template")
        templates_dir = self.tools.templates_dir
        if not (templates_dir / template).is_file():
            self._report(location, f"template {template!r} not found in "
                         f"{templates_dir.as_posix()}/")
            return False
        try:
            self.tools.renderer.check(template)
        except NurtureError as exc:
            self._report(location, str(exc))
            return False
        return True

    def _check_email(self, index: int, template: str, subjects: list[str]) -> None:
        """The body renders (reported at `template`), then each subject (at `subject`)."""
        renderer = self.tools.renderer
        failed = self._first_failure(
            index, SAMPLES, lambda context: renderer.render(template, _PLAIN_SUBJECT, context))
        if failed:
            self._report(("touch", index, "template"), *failed[1:])
        usable = SAMPLES[:failed[0]] if failed else SAMPLES  # the leads the body renders for
        for variant, subject in enumerate(subjects):
            location: Location = ("touch", index, "subject")
            if len(subjects) > 1:
                location = (*location, variant)
            try:
                renderer.check_subject(subject)
            except NurtureError as exc:
                self._report(location, str(exc))
                continue
            failed = self._first_failure(index, usable, partial(renderer.render, template,
                                                                subject))
            if failed:
                self._report(location, *failed[1:])

    def _check_task(self, index: int, task: str) -> None:
        """A task's text is a template too: it must compile and render for the sample leads."""
        env = self.tools.text_env
        try:
            with translated_errors(env, "task"):
                compiled = env.from_string(task)
        except NurtureError as exc:
            self._report(("touch", index, "task"), str(exc))
            return

        def render(context: RenderContext) -> str:
            with translated_errors(env, "task"):
                return compiled.render(context.variables())

        failed = self._first_failure(index, SAMPLES, render)
        if failed:
            self._report(("touch", index, "task"), *failed[1:])

    def _first_failure(
        self, index: int, samples: tuple[tuple[dict[str, Any], Severity], ...],
        attempt: Callable[[RenderContext], object],
    ) -> tuple[int, str, Severity] | None:
        """The position in `samples` of the first lead `attempt` fails for, why, and how bad."""
        for position, (lead, severity) in enumerate(samples):
            try:
                attempt(self._context(lead, index))
            except NurtureError as exc:
                message = str(exc)
                if severity == "warning":
                    message = f"fails for a lead with only an email address: {message}"
                return position, message, severity
        return None

    def _context(self, lead: dict[str, Any], index: int) -> RenderContext:
        present = {k: v for k, v in lead.items() if v not in (None, "")}
        return RenderContext(
            lead=present, sender=self.tools.sender,
            owner=SAMPLE_OWNER if lead is FULL_LEAD else None,
            sequence={"id": self.sequence.id, "name": self.sequence.name or self.sequence.id},
            touch_number=index + 1, unsubscribe_url="https://example.com/u/sample",
        )
