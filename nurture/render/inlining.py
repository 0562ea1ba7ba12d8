"""CSS inlining, done once per document shape instead of once per email.

Inlining parses the whole document, matches every CSS rule and serializes it again: the most
expensive step of a render (some 80 µs of 280). Yet every lead taking the same path through a
template yields the same document but for its values. So the document is rendered with a
stand-in token per value (see markdown.py), the token document is inlined once and cached, and
each email only puts its values back, serialized as the inliner's HTML serializer would have
written them: `&`, no-break space, `<` and `>` escaped in text; `&`, no-break space and `"`
in attribute values.

That is exact only where a value cannot change how the document parses or which rules match,
so a shape is refused (and the email inlined in full) when a token lands anywhere but in text
or in an href, src, alt or title attribute (not in a comment, <style>, a tag or attribute name,
class or id), when the inliner drops or copies one, or when `&` comes right before one; and a
value is refused when it is empty, starts with whitespace (the parser treats leading whitespace
apart in some places), holds a carriage return or NUL (normalized by the parser), or, in an
attribute, any whitespace (the attribute may be unquoted).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import css_inline

from nurture.core.errors import TemplateError
from nurture.render.markdown import TOKEN

# Remote stylesheets are never fetched: rendering does no network I/O.
_INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)
_VALUE_ATTRIBUTES = frozenset({"href", "src", "alt", "title"})
_HTML_WHITESPACE = "\t\n\f\r "
# The serializer's output: comments, raw-text elements, tags (attribute values always in "").
_MARKUP = re.compile(
    r"<!--.*?-->"
    r"|<(script|style|xmp|iframe|noembed|noframes|noscript|plaintext)\b(?:[^>\"]|\"[^\"]*\")*>"
    r".*?(?:</\1>|\Z)"
    r"|<[!/]?[a-zA-Z](?:[^>\"]|\"[^\"]*\")*>",
    re.DOTALL | re.IGNORECASE,
)
_ATTRIBUTE = re.compile(r"\s([^\s\"'>/=]+)=\"([^\"]*)\"")
_AMPERSAND_BEFORE = re.compile(rf"&[#0-9A-Za-z]*(?={TOKEN.pattern})")


def inline(document: str) -> str:
    """The document with its CSS moved into style attributes."""
    try:
        return _INLINER.inline(document)
    except css_inline.InlineError as exc:
        raise TemplateError(f"the CSS cannot be inlined: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Shape:
    """An inlined token document: the text around each token and which value goes there."""

    pieces: tuple[str, ...]  # one more than slots
    slots: tuple[tuple[int, bool], ...]  # (value index, inside an attribute value)

    def fill(self, values: list[str]) -> str | None:
        """The inlined document for these values; None if one could parse unlike its token."""
        parts = [self.pieces[0]]
        for (index, in_attribute), piece in zip(self.slots, self.pieces[1:], strict=True):
            value = values[index]
            if not _parses_as_text(value, in_attribute):
                return None
            parts.append(_serialized(value, in_attribute))
            parts.append(piece)
        return "".join(parts)


@lru_cache(maxsize=256)
def shape_of(tokenized: str) -> Shape | None:
    """The cached inlined form of a token document, or None when tokens cannot stand in."""
    if _AMPERSAND_BEFORE.search(tokenized):
        return None
    inlined = inline(tokenized)
    markup = [(m.start(), m.end(), m) for m in _MARKUP.finditer(inlined)]
    starts = [start for start, _, _ in markup]
    pieces: list[str] = []
    slots: list[tuple[int, bool]] = []
    done = 0
    for token in TOKEN.finditer(inlined):
        around = bisect_right(starts, token.start()) - 1
        in_attribute = False
        if around >= 0 and token.start() < markup[around][1]:
            found = _in_attribute(markup[around][2], token.start(), token.end())
            if found is None:
                return None
            in_attribute = found
        pieces.append(inlined[done:token.start()])
        slots.append((int(token[1]), in_attribute))
        done = token.end()
    pieces.append(inlined[done:])
    if Counter(i for i, _ in slots) != Counter(int(m[1]) for m in TOKEN.finditer(tokenized)):
        return None
    return Shape(tuple(pieces), tuple(slots))


def _in_attribute(markup: re.Match[str], start: int, end: int) -> bool | None:
    """True for a token inside an allowed attribute value of this tag, None anywhere else
    (a comment, <style>, <script>, a tag or attribute name, another attribute)."""
    if markup[1] is not None or markup[0].startswith("<!"):
        return None
    for attribute in _ATTRIBUTE.finditer(markup[0]):
        value_start = markup.start() + attribute.start(2)
        value_end = markup.start() + attribute.end(2)
        if value_start <= start and end <= value_end:
            return True if attribute[1].lower() in _VALUE_ATTRIBUTES else None
    return None


def _parses_as_text(value: str, in_attribute: bool) -> bool:
    if not value or value[0] in _HTML_WHITESPACE or "\r" in value or "\0" in value:
        return False
    if in_attribute and any(space in value for space in _HTML_WHITESPACE):
        return False
    return value.isascii() or _encodable(value)


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: the inliner would refuse the document
        return False
    return True


def _serialized(value: str, in_attribute: bool) -> str:
    """`value` as the HTML serializer writes text or a double-quoted attribute value."""
    value = value.replace("&", "&amp;").replace("\xa0", "&nbsp;")
    if in_attribute:
        return value.replace('"', "&quot;")
    return value.replace("<", "&lt;").replace(">", "&gt;")
