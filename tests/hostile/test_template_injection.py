"""Template injection and sandbox escapes: the known Jinja2 escapes fail with a TemplateError
naming the template and line, resource bombs are stopped before they allocate (intercepted
operators and padding) or as they grow (the render's output and time budget), and lead data
that looks like a template stays data."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from html import unescape
from pathlib import Path

import pytest

from nurture.core.errors import TemplateError
from nurture.render import RenderContext, TemplateRenderer, environment

LAYOUT = Path(__file__).resolve().parents[2] / "templates" / "_layout.html.j2"
SENDER = {"name": "Acme", "email": "hello@acme.test", "postal_address": "1 Main Street"}
ESCAPES = [
    "{{ cycler.__init__.__globals__.os }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ self._TemplateReference__context }}",
    "{{ self.__init__.__globals__ }}",
    "{{ ().__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__base__.__subclasses__() }}",
    "{{ lead.__class__ }}",
    "{{ lead | attr('__class__') | attr('__mro__') }}",
    "{{ (lead | attr('__class__')).__mro__ }}",
    "{{ ('{0.__class__.__mro__}' | attr('format'))(lead) }}",
    "{{ '{0.__class__}'.format(lead) }}",
    "{{ '{x.__class__}'.format_map({'x': lead}) }}",
    "{{ ('{x.__class__}' | attr('format_map'))({'x': lead}) }}",
    "{{ '%s' | format(lead.__class__) }}",
    "{{ lead.custom.update({'plan': 'free'}) }}",
    "{{ lead.custom.__setitem__('plan', 'free') }}",
    "{{ sender.pop('name') }}",
    "{{ request.application.__globals__ }}",
    "{{ config.items() }}",
    "{{ url_for.__globals__ }}",
    "{{ get_flashed_messages.__globals__ }}",
    "{% set x = lead.__init__ %}{{ x }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{% import 'os' as os %}",
    "{% include '/etc/passwd' %}",
    "{% include '../../../../etc/passwd' %}",
    "{% extends '../secrets.txt' %}",
]
BOMBS = [
    "{{ 'a' * 10**9 }}",
    "{{ ['a'] * 10**9 }}",
    "{{ ((10**64)**64)**64 }}",
    "{{ 2 ** 100000 }}",
    "{{ '%999999999s' % 'a' }}",
    "{{ '%*s' % (999999999, 'a') }}",
    "{{ '%.999999999f' % 1 }}",
    "{{ '{:999999999}'.format(1) }}",
    "{{ '{:{}}'.format(1, 10**9) }}",
    "{{ '{x:{w}}'.format_map({'x': 1, 'w': 10**9}) }}",
    "{{ 'x' | center(999999999) }}",
    "{{ 'x' | indent(999999999, true) }}",
    "{{ '%*s' | format(999999999, 'x') }}",
    "{{ range(10**9) | list }}",
    "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
    "{% for i in range(50) %}{{ 'x' * 999999 ~ i }}{% endfor %}",
    "{% for i in range(3) %}{{ lead.first_name * 999999 }}{% endfor %}",
    "{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}",
]


@pytest.fixture
def render(tmp_path: Path) -> Callable[..., str]:
    """render(body, name="t.md.j2", subject="Hi", **lead) → the email's HTML, a line with
    "TEXT PART", and its text part."""
    shutil.copy(LAYOUT, tmp_path / "_layout.html.j2")
    (tmp_path / "secrets.txt").write_text("s3cret")

    def _render(body: str, name: str = "t.md.j2", subject: str = "Hi", **lead: str) -> str:
        (tmp_path / "inner").mkdir(exist_ok=True)
        (tmp_path / "inner" / name).write_text(body)
        context = RenderContext(lead={"email": "ann@example.com", "first_name": "Ann", **lead},
                                sender=SENDER, owner=None, sequence={"id": "s", "name": "S"},
                                touch_number=1, unsubscribe_url="https://t.acme.test/u/x")
        email = TemplateRenderer(tmp_path).render(f"inner/{name}", subject, context)
        return f"{email.html}\nTEXT PART\n{email.text}"

    return _render


@pytest.mark.parametrize("name", ["t.md.j2", "t.html.j2"])
@pytest.mark.parametrize("body", ESCAPES)
def test_known_sandbox_escapes_fail_naming_the_template_and_line(
        render: Callable[..., str], body: str, name: str) -> None:
    with pytest.raises(TemplateError, match=rf"^(inner/{name}:1: |template '.*' not found)"):
        render(body, name)


@pytest.mark.parametrize("subject", [e for e in ESCAPES if "import" not in e
                                     and "include" not in e and "extends" not in e])
def test_known_sandbox_escapes_in_a_subject_fail_naming_the_subject(
        render: Callable[..., str], subject: str) -> None:
    with pytest.raises(TemplateError, match=r"^subject:1: "):
        render("Hi\n", subject=subject)


@pytest.mark.parametrize("body", BOMBS)
def test_resource_bombs_fail_fast_with_a_template_error(
        render: Callable[..., str], body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(environment, "MAX_RENDER_SECONDS", 0.5)
    started = time.perf_counter()
    with pytest.raises(TemplateError, match=r"^inner/t\.md\.j2(:1)?: ") as caught:
        render(body)
    assert time.perf_counter() - started < 3.0
    assert any(phrase in str(caught.value) for phrase in (
        "not allowed", "larger than 1,000,000 characters", "longer than 0.5 s", "too big",
        "Range too big", "RecursionError"))


def test_a_loop_that_outputs_nothing_is_stopped_by_the_time_cap(
        render: Callable[..., str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(environment, "MAX_RENDER_SECONDS", 0.3)
    body = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    with pytest.raises(TemplateError, match=r"^inner/t\.md\.j2:1: rendering took longer "):
        render(body)


@pytest.mark.parametrize("name", ["t.md.j2", "t.html.j2"])
def test_output_past_the_size_cap_fails_and_below_it_renders(
        render: Callable[..., str], name: str) -> None:
    line = "word " * 19 + "\n\n"  # 97 characters
    with pytest.raises(TemplateError, match="larger than 1,000,000 characters"):
        render(f"{{% for i in range(10400) %}}{line}{{% endfor %}}", name)
    assert render(f"{{% for i in range(400) %}}{line}{{% endfor %}}", name).count("word") > 8000


def test_ordinary_uses_of_the_guarded_operators_and_filters_still_work(
        render: Callable[..., str]) -> None:
    body = ("{{ '-' * 20 }} {{ 2 ** 10 }} {{ 7 % 3 }} {{ '%05.1f' % 3.14159 }} "
            "{{ '{:>6}|{:.2f}'.format('ab', 2.5) }} {{ 'x' | center(5) }}| "
            "{{ '%s-%s' | format(1, 2) }} {{ range(5) | reverse | join(',') }} "
            "{{ range(3) | length }} {% for i in range(3) %}{{ loop.length }}{% endfor %} "
            "{{ 2 in range(3) }} {{ range(10)[2] }}\n")
    assert ("-------------------- 1024 1 003.1     ab|2.50   x  | 1-2 4,3,2,1,0 3 333 True 2"
            in render(body, "t.html.j2"))


@pytest.mark.parametrize("value", ["{{ 7*7 }}", "{% raw %}", "{% include '/etc/passwd' %}",
                                   "<script>alert(1)</script>", "{{ cycler.__init__ }}",
                                   "<img src=x onerror=alert(1)>", "[click](javascript:alert(1))",
                                   "a\r\nb", "'a' * 10**9"])
@pytest.mark.parametrize("name", ["t.md.j2", "t.html.j2"])
def test_lead_data_that_looks_like_a_template_or_markup_stays_data(
        render: Callable[..., str], value: str, name: str) -> None:
    html, text = render("Hi {{ lead.first_name }} from {{ lead.company }}\n", name,
                        first_name=value, company=value).split("\nTEXT PART\n")
    assert "Hi 49" not in html + text
    assert "<script" not in html and "<img src=x" not in html and 'href="javascript' not in html
    words = " ".join(f"Hi {value} from {value}".split())
    assert words in " ".join(unescape(html).split()) and words in " ".join(text.split())
