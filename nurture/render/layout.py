"""The shared layout (templates/_layout.html.j2): the body goes into it, its `footer` block
gives both parts the unsubscribe link and the sender's postal address, and its CSS is inlined.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import css_inline
from jinja2 import Environment, Template
from markupsafe import Markup, escape

from nurture.core.errors import TemplateError
from nurture.render.environment import translated_errors
from nurture.render.text import html_to_text

LAYOUT = "_layout.html.j2"
# Remote stylesheets are never fetched: rendering does no network I/O.
_INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


@dataclass(frozen=True, slots=True)
class LaidOut:
    """The whole HTML document (CSS inlined) and the footer as plain text."""

    html: str
    footer_text: str


def load_layout(env: Environment) -> Template:
    """The compiled layout; TemplateError if it is missing, broken or has no footer block."""
    with translated_errors(env, LAYOUT):
        layout = env.get_template(LAYOUT)
    if "footer" not in layout.blocks:
        raise TemplateError(f"{LAYOUT} must define {{% block footer %}} (unsubscribe link "
                            "and postal address)")
    return layout


def lay_out(env: Environment, variables: dict[str, Any], body_html: str) -> LaidOut:
    """Place `body_html` in the layout, check the footer carries what the law asks for,
    and inline the CSS."""
    layout = load_layout(env)
    context = {**variables, "body": Markup(body_html)}
    with translated_errors(env, LAYOUT):
        document = layout.render(context)
        footer_html = "".join(layout.blocks["footer"](layout.new_context(context)))
    footer_text = html_to_text(footer_html)
    _check_footer(footer_html, footer_text, variables)
    try:
        return LaidOut(html=_INLINER.inline(document), footer_text=footer_text)
    except css_inline.InlineError as exc:
        raise TemplateError(f"{LAYOUT}: the CSS cannot be inlined: {exc}") from exc


def _check_footer(footer_html: str, footer_text: str, variables: dict[str, Any]) -> None:
    url = variables["unsubscribe_url"]
    address = " ".join(str(variables["sender"].get("postal_address", "")).split())
    if str(escape(url)) not in footer_html or url not in footer_text:
        raise TemplateError(f"{LAYOUT}: the footer block must link to {{{{ unsubscribe_url }}}}")
    if not address or address not in " ".join(footer_text.split()):
        raise TemplateError(f"{LAYOUT}: the footer block must show "
                            "{{ sender.postal_address }} (and the sender needs one)")
