"""Notes to people inside the company (a rep, the manager) and to their chat: rendered from
templates/_handoff*.j2, _sla*.j2 and _digest*.j2 in the same sandbox as touches.

A note is Markdown (`.md.j2`): lead data is escaped and inert as it is in touches (see
render/markdown.py), so a lead named `**Urgent** [click](https://evil.example)` shows as typed.
A chat line (`.txt.j2`) escapes what Slack would read as markup (&, <, >) in every value.
Notes carry no tracking, unsubscribe link or layout: they are not marketing email; they are
marked Auto-Submitted (RFC 3834) so that auto-replies are not sent back.
"""

from __future__ import annotations

from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2.nodes import EvalContext
from markupsafe import escape

from nurture.core.errors import TemplateError
from nurture.render.environment import (
    build_environment,
    compile_tree,
    render_template,
    translated_errors,
)
from nurture.render.markdown import collecting_values, fill_tokens, markdown_html, markdown_text
from nurture.render.markdown import stand_in as _stand_in

_PAGE = ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
         '</head>\n<body style="font-family: -apple-system, Segoe UI, Helvetica, Arial, '
         'sans-serif; font-size: 15px; line-height: 1.5; color: #1f2328; max-width: 680px;">'
         '\n{body}</body></html>\n')
_MAX_SUBJECT = 180
NOTE_TEMPLATES = ("_handoff.md.j2", "_handoff_webhook.txt.j2", "_handoff_unassigned.md.j2",
                  "_sla_reminder.md.j2", "_sla_reassigned.md.j2", "_digest.md.j2")


def check_note_templates(templates_dir: Path) -> list[str]:
    """Problems ("file: what") of the note templates: missing, or not compiling."""
    renderer = NoteRenderer(templates_dir)
    problems = []
    for name in NOTE_TEMPLATES:
        if not (templates_dir / name).is_file():
            problems.append(f"{name}: missing from {templates_dir.as_posix()}/ (copy it from "
                            "the templates/ folder of nurture's repository)")
            continue
        try:
            renderer.compile(name)
        except TemplateError as exc:
            problems.append(str(exc))
    return problems


@lru_cache(maxsize=8)
def note_renderer(templates_dir: Path) -> NoteRenderer:
    """The renderer of a templates folder, kept between runs (compiling a note's template
    costs more than the rest of a handoff); a template edited on disk is read again."""
    return NoteRenderer(templates_dir)


class NoteRenderer:
    """Renders notes from `templates_dir`, checking each template's file for changes."""

    def __init__(self, templates_dir: Path) -> None:
        self._markdown = build_environment(templates_dir, autoescape=True, finalize=_stand_in)
        self._chat = build_environment(templates_dir, autoescape=False, finalize=_chat_escape)
        for env in (self._markdown, self._chat):
            env.auto_reload = True  # notes are few: a stat per render is cheap

    def email(self, template: str, variables: dict[str, Any]) -> tuple[str, str]:
        """(HTML body, text body) of a Markdown note; TemplateError names file and line."""
        with translated_errors(self._markdown, template), collecting_values() as collected:
            source = render_template(self._markdown.get_template(template), variables)
        values = list(collected)
        html = fill_tokens(markdown_html(source), [str(escape(value)) for value in values])
        return html, markdown_text(source, values).strip() + "\n"

    def compile(self, template: str) -> None:
        """TemplateError (file:line) if `template` does not compile."""
        env = self._chat if template.endswith(".txt.j2") else self._markdown
        compile_tree(env, template)

    def chat(self, template: str, variables: dict[str, Any]) -> str:
        """A chat message (Slack mrkdwn) with every value escaped."""
        with translated_errors(self._chat, template):
            return render_template(self._chat.get_template(template), variables).strip()


def _chat_escape(_: EvalContext, value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value


def one_line(text: str) -> str:
    """A header-safe subject: one line, spaces collapsed, not too long."""
    line = " ".join(text.split())
    return line if len(line) <= _MAX_SUBJECT else line[:_MAX_SUBJECT - 1] + "…"


def note_message(*, sender: tuple[str, str], to: tuple[str, str], subject: str, html: str,
                 text: str, message_id: str, date: datetime) -> bytes:
    """The MIME message of a note: multipart/alternative, text then HTML."""
    message = EmailMessage(policy=SMTP)
    message["From"] = Address(sender[0], addr_spec=sender[1])
    message["To"] = Address(to[0], addr_spec=to[1])
    message["Subject"] = one_line(subject)
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    message.add_alternative(_PAGE.format(title=escape(one_line(subject)), body=html),
                            subtype="html")
    return message.as_bytes()
