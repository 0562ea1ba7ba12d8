"""Inlining once per document shape gives the bytes that inlining every email would give."""

from __future__ import annotations

import binascii
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

import nurture.render.renderer as renderer_module
from nurture.render import RenderContext, TemplateRenderer
from nurture.render.inlining import inline, shape_of
from nurture.render.markdown import collecting_values, fill_tokens, stand_in
from nurture.render.mime import _qp_line

# Characters that matter to an HTML parser or serializer, and ordinary ones.
SPECIAL = st.sampled_from(list("aZé &<>\"'=#;/\t\n\r\x00\xa0-*_[]()"))
VALUES = st.text(alphabet=SPECIAL | st.characters(exclude_categories=["Cs"]), max_size=12)


def tokenized(template: str, values: list[str]) -> tuple[str, list[str]]:
    """`template` with {0}, {1}… replaced by the stand-in tokens of `values`."""
    with collecting_values() as collected:
        tokens = [stand_in(None, value) for value in values]  # type: ignore[arg-type]
    return template.format(*tokens), list(collected)


def inlined_both_ways(template: str, values: list[str]) -> tuple[str | None, str]:
    """(the cached shape filled with the values, the filled document inlined)."""
    document, raw = tokenized(template, values)
    whole = inline(fill_tokens(document, [str(escape(v)) for v in raw]))
    shape = shape_of(document)
    return (shape.fill(raw) if shape else None), whole


PAGE = ("<html><head><title>{0}</title><style>p {{ color: red }} a {{ color: blue }}</style>"
        "</head><body><p>Hi {0}, from {1}</p><p><a href=\"https://x.test/{2}\" title=\"{1}\">"
        "go</a> <img src=\"{2}.png\" alt=\"{0}\"></p><pre>{1}</pre></body></html>")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(VALUES, VALUES, VALUES)
def test_filled_shape_is_the_inlined_email_or_nothing(first: str, second: str,
                                                      third: str) -> None:
    filled, whole = inlined_both_ways(PAGE, [first, second, third])
    assert filled is None or filled == whole


def test_plain_values_use_the_cached_shape() -> None:
    filled, whole = inlined_both_ways(PAGE, ["Ann&Bob<x>\xa0", "Acme&\"Corp\"", "a&b"])
    assert filled == whole


@pytest.mark.parametrize("template", [
    "<p class=\"{0}\">x</p><style>.Ann {{ color: red }}</style>",  # could match a selector
    "<p style=\"color: {0}\">x</p>",  # merged with the inlined styles
    "<style>p {{ color: {0} }}</style><p>x</p>",  # part of the CSS
    "<p>x</p><!-- {0} -->",  # a comment is written as it is
    "<p>&amp{0}</p>",  # could end a character reference
    "<p {0}>x</p>",  # an attribute name
])
def test_a_token_where_a_value_could_change_the_document_is_refused(template: str) -> None:
    document, _ = tokenized(f"<html><head></head><body>{template}</body></html>", ["Ann"])
    assert shape_of(document) is None


@pytest.mark.parametrize("value", ["", " Ann", "A\r\nB", "a\x00b", "\ud800"])
def test_a_value_the_parser_would_change_is_inlined_with_the_document(value: str) -> None:
    document, raw = tokenized("<html><body><p>{0}</p></body></html>", [value])
    shape = shape_of(document)
    assert shape is not None
    assert shape.fill(raw) is None


def test_a_value_with_a_space_is_refused_inside_an_attribute() -> None:
    filled, _ = inlined_both_ways("<html><body><a href={0}>x</a></body></html>", ["a b"])
    assert filled is None


Context = Callable[..., RenderContext]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(first=VALUES, company=VALUES)
def test_renderer_gives_the_same_email_as_laying_out_each_lead(
    templates: Path, make_context: Context, monkeypatch: pytest.MonkeyPatch, first: str,
    company: str,
) -> None:
    (templates / "body.md.j2").write_text(
        "Hi {{ lead.first_name }},\n\n**{{ lead.company }}** and "
        "[your page](https://x.test/{{ lead.company | urlencode }})\n", encoding="utf-8")
    context = make_context(lead={"email": "a@b.test", "first_name": first, "company": company})
    try:
        cached = TemplateRenderer(templates).render("body.md.j2", "Hi", context)
    except Exception as exc:  # the same failure, then
        cached = type(exc)  # type: ignore[assignment]
    with monkeypatch.context() as patched:
        patched.setattr(renderer_module, "layout_takes_tokens", lambda env: False)
        try:
            direct = TemplateRenderer(templates).render("body.md.j2", "Hi", context)
        except Exception as exc:
            direct = type(exc)  # type: ignore[assignment]
    assert cached == direct


def test_layout_that_captures_rendered_output_is_laid_out_per_email(
    templates: Path, make_context: Context
) -> None:
    layout = templates / "_layout.html.j2"
    layout.write_text(layout.read_text(encoding="utf-8").replace(
        "{{ body }}", "{% set b %}{{ body }}{% endset %}{{ b }}"), encoding="utf-8")
    (templates / "body.md.j2").write_text("Hi {{ lead.first_name }}\n", encoding="utf-8")
    renderer = TemplateRenderer(templates)
    assert not renderer_module.layout_takes_tokens(renderer._markdown)
    assert "Hi Jane" in renderer.render("body.md.j2", "Hi", make_context()).html


@given(st.binary(max_size=300).map(lambda data: data.replace(b"\r", b"")))
def test_quoted_printable_line_by_line_equals_the_whole(data: bytes) -> None:
    by_line = b"".join(map(_qp_line, data.splitlines(keepends=True)))
    assert by_line == binascii.b2a_qp(data, istext=True)
