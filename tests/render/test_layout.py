"""The shared layout: CSS inlined, and a footer with unsubscribe link and postal address in
both parts, which the renderer insists on."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from nurture.core.errors import TemplateError
from nurture.render import RenderContext, TemplateRenderer

from .samples import SENDER, UNSUBSCRIBE_URL

Write = Callable[[str, str], str]
MakeContext = Callable[..., RenderContext]


@pytest.mark.parametrize("body", ["t.md.j2", "t.html.j2"])
def test_footer_with_postal_address_and_unsubscribe_link_is_in_both_parts(
    renderer: TemplateRenderer, write: Write, make_context: MakeContext, body: str
) -> None:
    name = write(body, "Hello {{ lead.first_name }}")
    email = renderer.render(name, "Hi", make_context())
    assert SENDER["postal_address"] in email.html
    assert 'href="https://track.acme.test/u/tok123?l=42&amp;s=7"' in email.html
    assert SENDER["postal_address"] in email.text
    assert UNSUBSCRIBE_URL in email.text
    assert email.text.index("Hello Jane") < email.text.index(SENDER["postal_address"])


def test_css_is_inlined_into_style_attributes(
    renderer: TemplateRenderer, write: Write, make_context: MakeContext
) -> None:
    name = write("t.md.j2", "Hello [there](https://example.com)\n")
    email = renderer.render(name, "Hi", make_context())
    assert re.search(r'<td class="content"[^>]* style="[^"]*padding: 32px 36px', email.html)
    assert re.search(r'<a href="https://example.com"[^>]* style="[^"]*color: #0b57d0', email.html)
    assert re.search(r"<style>@media", email.html)  # kept for clients that read it
    assert ".content {" not in email.html


def test_layout_sees_the_subject(
    renderer: TemplateRenderer, write: Write, make_context: MakeContext
) -> None:
    name = write("t.md.j2", "Hello\n")
    email = renderer.render(name, "News & {{ lead.company }}", make_context())
    assert "<title>News &amp; Initech</title>" in email.html


def test_layout_without_footer_block_is_refused(
    templates: Path, write: Write, make_context: MakeContext
) -> None:
    write("_layout.html.j2", "<html><body>{{ body }} {{ unsubscribe_url }}</body></html>")
    name = write("t.md.j2", "Hello\n")
    renderer = TemplateRenderer(templates)
    with pytest.raises(TemplateError, match="block footer"):
        renderer.render(name, "Hi", make_context())
    with pytest.raises(TemplateError, match="block footer"):
        renderer.check(name)


def test_footer_without_unsubscribe_link_is_refused(
    templates: Path, write: Write, make_context: MakeContext
) -> None:
    write("_layout.html.j2", "<html><body>{{ body }}{% block footer %}"
          "<p>{{ sender.postal_address }}</p>{% endblock %}</body></html>")
    name = write("t.md.j2", "Hello\n")
    with pytest.raises(TemplateError, match="unsubscribe_url"):
        TemplateRenderer(templates).render(name, "Hi", make_context())


def test_sender_without_postal_address_is_refused(
    renderer: TemplateRenderer, write: Write, make_context: MakeContext
) -> None:
    name = write("t.md.j2", "Hello\n")
    sender = {"name": "Acme", "email": "a@acme.test", "postal_address": ""}
    with pytest.raises(TemplateError, match="postal_address"):
        renderer.render(name, "Hi", make_context(sender=sender))


def test_missing_layout_is_reported(
    templates: Path, write: Write, make_context: MakeContext
) -> None:
    (templates / "_layout.html.j2").unlink()
    name = write("t.md.j2", "Hello\n")
    with pytest.raises(TemplateError, match="'_layout.html.j2' not found"):
        TemplateRenderer(templates).render(name, "Hi", make_context())
