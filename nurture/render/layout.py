"""The shared layout (templates/_layout.html.j2): the body goes into it, its `footer` block
gives both parts the unsubscribe link and the sender's postal address, and its CSS is inlined.

Two ways to the same bytes. `lay_out` renders the layout with the lead's values and inlines
the whole document. `lay_out_tokens` renders it with stand-in tokens (as Markdown bodies are,
see markdown.py), so the inlined document is cached per shape (see inlining.py); it is used
only for a layout that cannot tell a token from a value: one that outputs `body` only as
`{{ body }}` and captures no rendered output (no set, call or filter blocks, macros,
inheritance or includes, no self, caller or super).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import css_inline
from jinja2 import Environment, Template, nodes
from markupsafe import Markup, escape

from nurture.core.errors import TemplateError
from nurture.render.environment import render_template, translated_errors
from nurture.render.inlining import inline, shape_of
from nurture.render.markdown import fill_tokens, tokens_intact
from nurture.render.text import html_to_text

LAYOUT = "_layout.html.j2"
_CAPTURING = (nodes.AssignBlock, nodes.CallBlock, nodes.FilterBlock, nodes.Macro, nodes.Extends,
              nodes.Include, nodes.Import, nodes.FromImport)
_URL_STAND_IN = f"u{secrets.token_hex(8)}u"  # letters and digits: text to the HTML parser
_SPACE = re.compile(r"\s")  # what str.isspace() calls a space


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
    document, footer_html = _render(env, variables, body_html)
    footer_text = _footer_text(footer_html, variables["unsubscribe_url"])
    _check_footer(footer_html, footer_text, variables)
    return LaidOut(html=_inlined(document), footer_text=footer_text)


def layout_takes_tokens(env: Environment) -> bool:
    """Whether the layout renders the same with stand-in tokens (see the module docstring)."""
    return _takes_tokens(env, load_layout(env))


def lay_out_tokens(env: Environment, variables: dict[str, Any], body_tokens: str,
                   values: dict[str, int]) -> LaidOut | None:
    """`lay_out` for a token body, rendering in `env` (whose finalize hook is `stand_in`)
    while `values` collects; None when a template changed a token of the body (a layout that
    takes tokens cannot change them)."""
    if not tokens_intact(body_tokens):
        return None
    document, footer = _render(env, variables, body_tokens)
    raw = list(values)
    escaped = [str(escape(value)) for value in raw]
    footer_html = fill_tokens(footer, escaped)
    footer_text = _footer_text(footer_html, variables["unsubscribe_url"])
    _check_footer(footer_html, footer_text, variables)
    try:
        shape = shape_of(document)
    except css_inline.InlineError as exc:
        raise _inline_failed(exc) from exc
    html = shape.fill(raw) if shape is not None else None
    return LaidOut(html=html or _inlined(fill_tokens(document, escaped)), footer_text=footer_text)


def _render(env: Environment, variables: dict[str, Any], body_html: str) -> tuple[str, str]:
    layout = load_layout(env)
    context = {**variables, "body": Markup(body_html)}
    with translated_errors(env, LAYOUT):
        return render_template(layout, context), render_template(layout, context, "footer")


def _inlined(document: str) -> str:
    try:
        return inline(document)
    except css_inline.InlineError as exc:
        raise _inline_failed(exc) from exc


def _inline_failed(exc: Exception) -> TemplateError:
    return TemplateError(f"{LAYOUT}: the CSS cannot be inlined: {exc}")


def _footer_text(footer_html: str, url: str) -> str:
    """html_to_text(footer_html), cached apart from the lead's unsubscribe URL: a plain word
    stands in for it, where nothing before it can change how it parses (the start of a
    quoted attribute value, or of a word in text)."""
    escaped = str(escape(url))
    if not url.startswith(("https://", "http://")) or _SPACE.search(url):
        return html_to_text(footer_html)
    pieces = footer_html.split(escaped)
    before = ""
    for piece in pieces[:-1]:
        before += piece
        in_tag = before.rfind("<") > before.rfind(">")
        if not before.endswith(('="', "='") if in_tag else (">", " ", "\n", "\t")):
            return html_to_text(footer_html)
        before += escaped
    return _text_of(_URL_STAND_IN.join(pieces)).replace(_URL_STAND_IN, url)


@lru_cache(maxsize=64)
def _text_of(footer_html: str) -> str:
    return html_to_text(footer_html)


@lru_cache(maxsize=8)
def _takes_tokens(env: Environment, layout: Template) -> bool:
    assert env.loader is not None and layout.name is not None
    tree = env.parse(env.loader.get_source(env, layout.name)[0])
    if any(True for _ in tree.find_all(_CAPTURING)):
        return False
    names = [name.name for name in tree.find_all(nodes.Name)]
    if {"self", "caller", "super"} & set(names):
        return False
    output_bodies = sum(isinstance(node, nodes.Name) and node.name == "body"
                        for output in tree.find_all(nodes.Output) for node in output.nodes)
    return names.count("body") == output_bodies


def _check_footer(footer_html: str, footer_text: str, variables: dict[str, Any]) -> None:
    url = variables["unsubscribe_url"]
    address = " ".join(str(variables["sender"].get("postal_address", "")).split())
    if str(escape(url)) not in footer_html or url not in footer_text:
        raise TemplateError(f"{LAYOUT}: the footer block must link to {{{{ unsubscribe_url }}}}")
    if not address or address not in " ".join(footer_text.split()):
        raise TemplateError(f"{LAYOUT}: the footer block must show "
                            "{{ sender.postal_address }} (and the sender needs one)")
