"""The final pass over the HTML: link rewriting, data-notrack, unsafe links, the pixel."""

from __future__ import annotations

from collections.abc import Callable

from nurture.render import RenderContext, TemplateRenderer

from .samples import UNSUBSCRIBE_URL

Write = Callable[[str, str], str]
MakeContext = Callable[..., RenderContext]
BODY = ('<p><a href="https://example.com/a?x=1&amp;y=2">A</a> '
        '<a href="http://example.com/b" class="btn">B</a> '
        '<a href="https://example.com/c" data-notrack>C</a> '
        '<a href="mailto:sales@acme.test">mail</a> <a href="#top">top</a></p>')


def _track(url: str) -> str:
    return f"https://t.acme.test/c?u={url}&sig=s"


def test_every_http_link_is_rewritten_except_notrack_ones(
    renderer: TemplateRenderer, write: Write, make_context: MakeContext
) -> None:
    seen: list[str] = []

    def rewriter(url: str) -> str:
        seen.append(url)
        return _track(url)

    email = renderer.render(write("t.html.j2", BODY), "Hi", make_context(link_rewriter=rewriter))
    assert seen == ["https://example.com/a?x=1&y=2", "http://example.com/b"]
    tracked_a = 'href="https://t.acme.test/c?u=https://example.com/a?x=1&amp;y=2&amp;sig=s"'
    assert tracked_a in email.html
    assert 'href="https://t.acme.test/c?u=http://example.com/b&amp;sig=s"' in email.html
    assert 'href="https://example.com/c"' in email.html
    assert 'href="mailto:sales@acme.test"' in email.html
    assert "data-notrack" not in email.html


def test_unsubscribe_link_of_the_layout_is_not_rewritten(
    renderer: TemplateRenderer, write: Write, make_context: MakeContext
) -> None:
    email = renderer.render(write("t.md.j2", "Hi\n"), "Hi", make_context(link_rewriter=_track))
    assert 'href="https://track.acme.test/u/tok123?l=42&amp;s=7"' in email.html
    assert _track(UNSUBSCRIBE_URL) not in email.html


def test_without_rewriter_links_stay_and_notrack_markers_go(
    renderer: TemplateRenderer, write: Write, make_context: MakeContext
) -> None:
    email = renderer.render(write("t.html.j2", BODY), "Hi", make_context())
    assert 'href="https://example.com/a?x=1&amp;y=2"' in email.html
    assert "data-notrack" not in email.html


def test_script_links_from_lead_data_are_dropped(
    renderer: TemplateRenderer, write: Write, make_context: MakeContext
) -> None:
    name = write("t.html.j2", '<a href="{{ lead.website }}">site</a>')
    for website in ("javascript:alert(1)", " JaVa\tScRiPt:alert(1)", "data:text/html,x"):
        email = renderer.render(name, "Hi", make_context({"website": website}))
        assert ">site</a>" in email.html
        assert "alert" not in email.html and "data:text" not in email.html


def test_pixel_is_the_last_thing_in_the_body(
    renderer: TemplateRenderer, write: Write, make_context: MakeContext
) -> None:
    context = make_context(pixel_url="https://t.acme.test/o/abc.gif?x=1&y=2")
    email = renderer.render(write("t.md.j2", "Hi\n"), "Hi", context)
    pixel = ('<img src="https://t.acme.test/o/abc.gif?x=1&amp;y=2" width="1" height="1" alt=""')
    assert email.html.count(pixel) == 1
    tail = email.html[email.html.index(pixel):]
    assert tail.endswith("></body></html>")
    assert "abc.gif" not in email.text


def test_no_pixel_without_a_pixel_url(
    renderer: TemplateRenderer, write: Write, make_context: MakeContext
) -> None:
    email = renderer.render(write("t.md.j2", "Hi\n"), "Hi", make_context())
    assert 'width="1" height="1"' not in email.html
