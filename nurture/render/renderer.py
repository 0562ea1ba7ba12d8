"""TemplateRenderer: a touch's body template and subject line → a RenderedEmail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, Template
from markupsafe import escape

from nurture.core.errors import TemplateError
from nurture.render.context import RenderContext, RenderedEmail
from nurture.render.environment import (
    build_environment,
    compile_tree,
    render_template,
    translated_errors,
)
from nurture.render.layout import LaidOut, lay_out, lay_out_tokens, layout_takes_tokens, load_layout
from nurture.render.markdown import (
    collecting_values,
    fill_tokens,
    markdown_html,
    markdown_text,
    stand_in,
)
from nurture.render.text import html_to_text
from nurture.render.tracking import add_pixel, rewrite_links

MARKDOWN, HTML = ".md.j2", ".html.j2"
_MAX_SUBJECTS = 4096


class TemplateRenderer:
    """Renders templates under `templates_dir`. A template is read on first use and then kept:
    build a new renderer to pick up edited files."""

    def __init__(self, templates_dir: Path) -> None:
        self.templates_dir = Path(templates_dir)
        self._html = build_environment(self.templates_dir, autoescape=True)
        self._markdown = build_environment(self.templates_dir, autoescape=True,
                                           finalize=stand_in)
        self._subject_env = build_environment(self.templates_dir, autoescape=False)
        self._subjects: dict[str, Template] = {}

    def render(self, template: str, subject: str, context: RenderContext) -> RenderedEmail:
        """Render one email for one lead; TemplateError (file:line, what) if it cannot be."""
        variables = context.variables()
        subject_line = self._render_subject(subject, variables)
        page = {**variables, "subject": subject_line}
        if template.endswith(MARKDOWN):
            laid, text = self._markdown_email(template, variables, page)
        elif template.endswith(HTML):
            body = _render(self._html, template, variables)
            laid, text = lay_out(self._html, page, body), html_to_text(body)
        else:
            raise _unknown_kind(template)
        html = rewrite_links(laid.html, context.link_rewriter)
        if context.pixel_url:
            html = add_pixel(html, context.pixel_url)
        return RenderedEmail(subject=subject_line, html=html,
                             text=f"{text.strip()}\n\n-- \n{laid.footer_text}\n")

    def _markdown_email(self, template: str, variables: dict[str, Any],
                        page: dict[str, Any]) -> tuple[LaidOut, str]:
        """A Markdown body laid out with its tokens in when the layout allows, else filled."""
        laid = None
        with collecting_values() as collected:
            source = _render(self._markdown, template, variables)
            if layout_takes_tokens(self._markdown):
                laid = lay_out_tokens(self._markdown, page, markdown_html(source), collected)
        values = list(collected)
        if laid is None:
            body = fill_tokens(markdown_html(source), [str(escape(value)) for value in values])
            laid = lay_out(self._html, page, body)
        return laid, markdown_text(source, values)

    def check(self, template: str) -> None:
        """Compile `template`, what it includes, and the layout; TemplateError names file:line."""
        if not template.endswith((MARKDOWN, HTML)):
            raise _unknown_kind(template)
        compile_tree(self._html, template)
        load_layout(self._html)

    def check_subject(self, subject: str) -> None:
        """Compile a subject line; TemplateError if it does not parse."""
        self._compile_subject(subject)

    def render_line(self, text: str, context: RenderContext) -> str:
        """A line of plain text (a task's title) rendered for the lead, as subjects are:
        no HTML escaping; TemplateError when it cannot be."""
        template = self._compile_subject(text)
        with translated_errors(self._subject_env, "task"):
            return render_template(template, context.variables()).strip()

    def _render_subject(self, subject: str, variables: dict[str, Any]) -> str:
        template = self._compile_subject(subject)
        with translated_errors(self._subject_env, "subject"):
            line = render_template(template, variables).strip()
        if "\r" in line or "\n" in line:
            raise TemplateError(f"subject {subject!r} renders with a line break ({line!r}); "
                                "a header must be one line: check the lead data it uses")
        if not line:
            raise TemplateError(f"subject {subject!r} renders empty; give it a fallback")
        return line

    def _compile_subject(self, subject: str) -> Template:
        compiled = self._subjects.get(subject)
        if compiled is None:
            with translated_errors(self._subject_env, "subject"):
                compiled = self._subject_env.from_string(subject)
            if len(self._subjects) >= _MAX_SUBJECTS:
                self._subjects.clear()
            self._subjects[subject] = compiled
        return compiled


def _render(env: Environment, template: str, variables: dict[str, Any]) -> str:
    with translated_errors(env, template):
        return render_template(env.get_template(template), variables)


def _unknown_kind(template: str) -> TemplateError:
    return TemplateError(f"{template}: a body template's name ends in {MARKDOWN} (Markdown) "
                         f"or {HTML} (HTML)")
