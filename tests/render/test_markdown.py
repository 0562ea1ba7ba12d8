"""Markdown bodies: lead data stays data in both parts; the text part is cleaned Markdown."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from nurture.render import RenderContext, TemplateRenderer

Write = Callable[[str, str], str]
MakeContext = Callable[..., RenderContext]


def _content(html: str) -> str:
    """The body cell of the layout: what the template produced."""
    return html.split('class="content"', 1)[1].split('class="footer"', 1)[0]


@pytest.mark.parametrize("hostile", [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "<a href='javascript:alert(1)'>x</a>",
    "<!-- x --><style>*{}</style>",
])
def test_lead_html_cannot_become_live_html(
    renderer: TemplateRenderer, write: Write, make_context: MakeContext, hostile: str
) -> None:
    name = write("t.md.j2",
                 "{{ lead.first_name }}\n\nHi {{ lead.first_name }}, <b>{{ lead.company }}</b>\n")
    email = renderer.render(name, "Hi", make_context({"first_name": hostile, "company": hostile}))
    content = _content(email.html)
    assert re.search(r"<(script|img|style|!--)|<a\s", content) is None
    assert "&lt;" in content
    assert hostile in email.text


@pytest.mark.parametrize("hostile", [
    "[Claim your prize](https://evil.example)",
    "![x](https://evil.example/pixel.gif)",
    "<https://evil.example>",
    "**big** _loud_ `code`",
    "# Heading",
    "1. item",
    "- item",
    "> quote",
    "    indented code",
])
def test_lead_markdown_is_not_interpreted(
    renderer: TemplateRenderer, write: Write, make_context: MakeContext, hostile: str
) -> None:
    name = write("t.md.j2", "{{ lead.first_name }}\n\nHi {{ lead.first_name }}\n")
    email = renderer.render(name, "Hi", make_context({"first_name": hostile}))
    content = _content(email.html)
    assert re.search(r"<(a|img|strong|em|code|h1|ol|ul|li|blockquote|pre)\b", content) is None
    assert hostile in email.text


def test_lead_data_is_escaped_inside_the_authors_raw_html_and_links(
    renderer: TemplateRenderer, write: Write, make_context: MakeContext
) -> None:
    name = write("t.md.j2", '<div class="cta"><a href="{{ lead.website }}">Visit</a></div>\n\n'
                 "[site]({{ lead.website }}) `{{ lead.company }}`\n")
    lead = {"website": 'https://x.example/?a=1&b="2"', "company": "A_B*C"}
    email = renderer.render(name, "Hi", make_context(lead))
    content = _content(email.html)
    assert content.count('href="https://x.example/?a=1&amp;b=&quot;2&quot;"') == 2
    assert ">A_B*C</code>" in content


def test_markdown_from_the_template_and_its_macros_is_rendered(
    renderer: TemplateRenderer, write: Write, make_context: MakeContext
) -> None:
    name = write("t.md.j2",
                 "{% macro cta(label, url) %}**[{{ label }}]({{ url }})**{% endmacro %}"
                 "# Hello {{ lead.first_name }}\n\n"
                 "{{ cta('Book a call', 'https://cal.example/x') }}\n")
    email = renderer.render(name, "Hi", make_context())
    content = _content(email.html)
    assert re.search(r"<h1[^>]*>Hello Jane</h1>", content)
    assert re.search(r'<strong[^>]*><a href="https://cal.example/x"[^>]*>Book a call</a></strong>',
                     content)


def test_text_part_is_cleaned_markdown(
    renderer: TemplateRenderer, write: Write, make_context: MakeContext
) -> None:
    name = write("t.md.j2", "Hi **{{ lead.first_name }}**, _really_ *quick*: see "
                 "[the guide](https://example.com/g \"Guide\"), <https://example.com/raw>,\n"
                 '<a href="https://example.com/b?x=1&amp;y=2">book</a> and '
                 "[{{ lead.website }}]({{ lead.website }}).\n\nsnake_case_name stays, 2 \\* 3\n")
    email = renderer.render(name, "Hi", make_context({"first_name": "Jane", "website": "https://jane.dev"}))
    assert email.text.startswith(
        "Hi Jane, really quick: see the guide (https://example.com/g), https://example.com/raw,\n"
        "book (https://example.com/b?x=1&y=2) and https://jane.dev.\n\n"
        "snake_case_name stays, 2 * 3\n"
    )


def test_a_line_break_inside_a_paragraph_is_kept(
    renderer: TemplateRenderer, write: Write, make_context: MakeContext
) -> None:
    email = renderer.render(write("t.md.j2", "Thanks,\nSam\n"), "Hi", make_context())
    assert re.search(r">Thanks,<br>\s*Sam</p>", _content(email.html))
    assert email.text.startswith("Thanks,\nSam\n")
