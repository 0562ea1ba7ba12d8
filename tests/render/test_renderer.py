"""TemplateRenderer: Markdown and HTML bodies, subjects, errors for people, fallbacks."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from nurture.core.errors import TemplateError
from nurture.render import RenderContext, TemplateRenderer

Write = Callable[[str, str], str]
MakeContext = Callable[..., RenderContext]


def test_markdown_body_becomes_html_and_text_parts(
    renderer: TemplateRenderer, write: Write, make_context: MakeContext
) -> None:
    name = write("prospecting/intro.md.j2",
                 "Hi {{ lead.first_name }},\n\nHow is **{{ lead.company }}** doing?\n\n"
                 "- [Read the guide](https://example.com/guide)\n")
    email = renderer.render(name, "Quick question about {{ lead.company }}", make_context())
    assert email.subject == "Quick question about Initech"
    assert ">Hi Jane,</p>" in email.html
    assert "<strong>Initech</strong>" in email.html
    assert '<a href="https://example.com/guide"' in email.html
    assert email.text.startswith("Hi Jane,\n\nHow is Initech doing?\n\n"
                                 "- Read the guide (https://example.com/guide)\n")


def test_html_body_gets_a_text_part_derived_from_it(
    renderer: TemplateRenderer, write: Write, make_context: MakeContext
) -> None:
    name = write("x/news.html.j2",
                 '<p>Hello {{ lead.first_name }},<br>news for <a href="https://example.com/n">'
                 "{{ lead.company }}</a>.</p><ul><li>one</li><li>two</li></ul>")
    email = renderer.render(name, "News", make_context())
    assert '<a href="https://example.com/n"' in email.html
    assert email.text.startswith("Hello Jane,\nnews for Initech (https://example.com/n).\n\n"
                                 "- one\n- two\n")


@pytest.mark.parametrize("body", ["Hi {{ lead.first_name }}\n", "<p>Hi {{ lead.first_name }}</p>"])
def test_lead_data_is_never_evaluated_as_a_template(
    renderer: TemplateRenderer, write: Write, make_context: MakeContext, body: str
) -> None:
    name = write("t.md.j2" if body.startswith("Hi") else "t.html.j2", body)
    context = make_context({"first_name": "{{ 7*7 }}{% raw %}"})
    email = renderer.render(name, "For {{ lead.first_name }}", context)
    assert email.subject == "For {{ 7*7 }}{% raw %}"
    assert "{{ 7*7 }}{% raw %}" in email.html
    assert "{{ 7*7 }}{% raw %}" in email.text
    assert "49" not in email.html + email.text


def test_html_body_escapes_lead_data(
    renderer: TemplateRenderer, write: Write, make_context: MakeContext
) -> None:
    name = write("t.html.j2", "<p>Hi {{ lead.first_name }}</p>")
    email = renderer.render(name, "Hi", make_context({"first_name": "<script>alert(1)</script>"}))
    assert "<script>" not in email.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in email.html
    assert "Hi <script>alert(1)</script>" in email.text


def test_subject_is_rendered_without_html_escaping(
    renderer: TemplateRenderer, write: Write, make_context: MakeContext
) -> None:
    name = write("t.md.j2", "Hello\n")
    context = make_context({"company": "R&D <Labs>"})
    email = renderer.render(name, "News for {{ lead.company }}", context)
    assert email.subject == "News for R&D <Labs>"


@pytest.mark.parametrize("company", ["Acme\r\nBcc: victim@example.com", "Acme\nX", "Acme\rX"])
def test_subject_with_a_line_break_from_lead_data_is_refused(
    renderer: TemplateRenderer, write: Write, make_context: MakeContext, company: str
) -> None:
    name = write("t.md.j2", "Hello\n")
    with pytest.raises(TemplateError, match="line break"):
        renderer.render(name, "About {{ lead.company }}", make_context({"company": company}))


def test_missing_field_names_template_line_and_field(
    renderer: TemplateRenderer, write: Write, make_context: MakeContext
) -> None:
    name = write("prospecting/intro.md.j2",
                 "Hi {{ lead.first_name }},\n\n{{ lead.company }} rocks\n")
    with pytest.raises(TemplateError) as caught:
        renderer.render(name, "Hi", make_context({"first_name": "Jane"}))
    message = str(caught.value)
    assert message.startswith("prospecting/intro.md.j2:3: ")
    assert "'company'" in message
    assert "default(" in message


def test_missing_field_in_an_included_template_names_that_template(
    renderer: TemplateRenderer, write: Write, make_context: MakeContext
) -> None:
    write("snippets/sign.md.j2", "Regards,\n{{ owner.name }}\n")
    name = write("t.md.j2", "Hi\n\n{% include 'snippets/sign.md.j2' %}\n")
    with pytest.raises(TemplateError, match=r"^snippets/sign\.md\.j2:2: .*'name'"):
        renderer.render(name, "Hi", make_context())


def test_missing_field_in_subject_names_the_subject(
    renderer: TemplateRenderer, write: Write, make_context: MakeContext
) -> None:
    name = write("t.md.j2", "Hi\n")
    with pytest.raises(TemplateError, match=r"^subject:1: .*'title'"):
        renderer.render(name, "For a {{ lead.title }}", make_context())


def test_default_gives_a_fallback_for_missing_fields(
    renderer: TemplateRenderer, write: Write, make_context: MakeContext
) -> None:
    name = write("t.md.j2", "Hi {{ lead.first_name | default('there') }}, plan "
                 "{{ lead.custom.plan | default('free') }}, from "
                 "{{ owner.name | default('our team') }}\n")
    email = renderer.render(name, "{{ lead.first_name | default('Hi') }}", make_context({}))
    assert email.subject == "Hi"
    assert ">Hi there, plan free, from our team</p>" in email.html


def test_context_names_reach_the_template(
    renderer: TemplateRenderer, write: Write, make_context: MakeContext
) -> None:
    name = write("t.md.j2", "{{ owner.name }} {{ sequence.name }} #{{ touch_number }} "
                 "{{ lead.custom.plan }} {{ sender.name }}\n")
    context = make_context({"custom": {"plan": "pro"}}, touch_number=3,
                           owner={"name": "Sam Rep", "email": "sam@acme.test"})
    email = renderer.render(name, "Hi", context)
    assert "Sam Rep Cold intro #3 pro Acme Growth" in email.text


def test_empty_subject_is_refused(
    renderer: TemplateRenderer, write: Write, make_context: MakeContext
) -> None:
    name = write("t.md.j2", "Hi\n")
    with pytest.raises(TemplateError, match="empty"):
        renderer.render(name, "{{ lead.title | default('') }}", make_context())


def test_check_reports_a_syntax_error_with_file_and_line(
    renderer: TemplateRenderer, write: Write
) -> None:
    name = write("bad.md.j2", "Hi\n\n{% if lead.first_name %}\nno end\n")
    with pytest.raises(TemplateError, match=r"^bad\.md\.j2:\d+: syntax error: "):
        renderer.check(name)


def test_check_follows_includes(renderer: TemplateRenderer, write: Write) -> None:
    write("parts/broken.md.j2", "ok\n{{ lead.first_name \n")
    name = write("outer.md.j2", "Hi\n{% include 'parts/broken.md.j2' %}\n")
    with pytest.raises(TemplateError, match=r"^parts/broken\.md\.j2:2: syntax error"):
        renderer.check(name)


def test_check_accepts_a_good_template(renderer: TemplateRenderer, write: Write) -> None:
    renderer.check(write("good.html.j2", "<p>{{ lead.first_name | default('there') }}</p>"))


def test_check_reports_a_missing_template(renderer: TemplateRenderer) -> None:
    with pytest.raises(TemplateError, match="'nope.md.j2' not found"):
        renderer.check("nope.md.j2")


def test_check_refuses_an_unknown_body_kind(renderer: TemplateRenderer, write: Write) -> None:
    with pytest.raises(TemplateError, match=r"\.md\.j2 \(Markdown\) or \.html\.j2"):
        renderer.check(write("t.txt.j2", "Hi"))


def test_check_subject_reports_a_syntax_error(renderer: TemplateRenderer) -> None:
    with pytest.raises(TemplateError, match="^subject:1: syntax error"):
        renderer.check_subject("Hi {{ lead.first_name ")


def test_template_cannot_reach_python_internals(
    renderer: TemplateRenderer, write: Write, make_context: MakeContext
) -> None:
    name = write("t.md.j2", "{{ lead.__class__.__mro__ }}{{ ''.__class__.__subclasses__() }}\n")
    with pytest.raises(TemplateError, match=r"^t\.md\.j2:1: "):
        renderer.render(name, "Hi", make_context())

