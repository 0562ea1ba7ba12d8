"""Markdown bodies: lead data kept as data, Markdown → HTML, and the plain-text twin.

A Markdown template is rendered once, with every value it outputs replaced by a stand-in
token (`stand_in`, Jinja2's finalize hook); the values are collected apart. The Markdown
structure is thus decided by the template alone: a first name such as `<img onerror=…>`,
`**bold**` or `[Claim your prize](https://evil.example)` cannot become HTML, emphasis or a
link. The token source then becomes the HTML part (CommonMark, raw HTML allowed: only the
template author's HTML can reach it) and the text part (light clean-up), and the tokens are
replaced by the values: HTML-escaped in the HTML part, as they are in the text part.
As the token source is the same for every lead that takes the same path through a template,
both conversions are cached, which makes Markdown nearly free for the second lead on. The
HTML keeps its tokens until the whole email is laid out (see inlining.py).

Values marked safe (`| safe`, the output of a macro or `{% set %}` block) are the author's
own Markdown and are not replaced; never mark lead data safe.
"""

from __future__ import annotations

import html
import re
import secrets
import string
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markdown_it import MarkdownIt

# "breaks": a line break in a paragraph stays a line break, as people writing emails expect
# ("Thanks,\nSam") and as the text part shows it.
_MARKDOWN = MarkdownIt("commonmark", {"html": True, "breaks": True})
# Lowercase letters and digits pass through every Markdown construct unchanged; the random
# marker keeps a template's own text from ever looking like a token.
_MARKER = "".join(secrets.choice(string.ascii_lowercase) for _ in range(12))
TOKEN = re.compile(rf"{_MARKER}(\d+){_MARKER}")
_TOKEN_ANY_CASE = re.compile(TOKEN.pattern, re.IGNORECASE)
_VALUES: ContextVar[dict[str, int] | None] = ContextVar("markdown_values", default=None)


@contextmanager
def collecting_values() -> Iterator[dict[str, int]]:
    """Collect, in order of first output, the values a Markdown template renders."""
    values: dict[str, int] = {}
    reset = _VALUES.set(values)
    try:
        yield values
    finally:
        _VALUES.reset(reset)


@pass_eval_context
def stand_in(eval_ctx: EvalContext, value: Any) -> Any:
    """Finalize hook: the token standing for `value` (equal values share one token)."""
    values = _VALUES.get()
    if values is None or hasattr(value, "__html__"):
        return value
    text = str(value)
    index = values.setdefault(text, len(values))
    return f"{_MARKER}{index}{_MARKER}"


def markdown_html(source: str) -> str:
    """The HTML of a token source, tokens left in (fill them with `fill_tokens`)."""
    return _to_html(source)


def markdown_text(source: str, values: list[str]) -> str:
    """The plain text of a token source, with the values (as they are) in place of tokens."""
    return fill_tokens(_to_text(source), values)


def fill_tokens(tokenized: str, values: list[str]) -> str:
    """`tokenized` with token i replaced by values[i], whatever the case of its letters."""
    return _pattern_for(tokenized).sub(lambda m: values[int(m[1])], tokenized)


@lru_cache(maxsize=512)
def tokens_intact(rendered: str) -> bool:
    """False when a template changed a token (`{% filter upper %}`, `| truncate` on a block):
    its output must then be rendered again with the values themselves."""
    return _same_case(rendered) and rendered.count(_MARKER) == 2 * len(TOKEN.findall(rendered))


@lru_cache(maxsize=512)
def _pattern_for(tokenized: str) -> re.Pattern[str]:
    return TOKEN if _same_case(tokenized) else _TOKEN_ANY_CASE  # the first is faster


def _same_case(rendered: str) -> bool:
    return rendered.count(_MARKER) == rendered.lower().count(_MARKER)


@lru_cache(maxsize=512)
def _to_html(source: str) -> str:
    return _MARKDOWN.render(source)


_LINK = re.compile(r"!?\[([^\]\n]*)\]\(\s*<?([^\s)>]*)>?(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'))?\s*\)")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^\s<>]+)>", re.IGNORECASE)
_ANCHOR = re.compile(r"<a\s[^>]*?href=\"([^\"]*)\"[^>]*>(.*?)</a>", re.IGNORECASE | re.DOTALL)
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"</?[a-zA-Z][^>\n]*>")
_STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|(?<!\w)__(?=\S)(.+?)(?<=\S)__(?!\w)")
_EMPHASIS = re.compile(
    r"(?<![\\*])\*(?=[^\s*])(.+?)(?<=[^\s\\*])\*|(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)"
)
_BACKSLASH = re.compile(r"\\([!-/:-@\[-`{-~])")
_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});")
_CLEANING: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (_LINK, lambda m: _with_url(m[1], m[2])),
    (_AUTOLINK, lambda m: m[1]),
    (_ANCHOR, lambda m: _with_url(m[2], html.unescape(m[1]))),
    (_BREAK, lambda m: "\n"),
    (_TAG, lambda m: ""),
    (_STRONG, lambda m: m[1] or m[2]),
    (_EMPHASIS, lambda m: m[1] or m[2]),
    (_BACKSLASH, lambda m: m[1]),
    (_ENTITY, lambda m: html.unescape(m[0])),
)


@lru_cache(maxsize=512)
def _to_text(source: str) -> str:
    """Plain text from Markdown: links as `text (url)`, emphasis markers and tags removed."""
    text = source
    for pattern, replace in _CLEANING:
        text = pattern.sub(replace, text)
    return text


def _with_url(text: str, url: str) -> str:
    text = text.strip()
    shown = url.removeprefix("mailto:")
    return shown if not text or text in (url, shown) else f"{text} ({shown})"
