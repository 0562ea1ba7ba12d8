"""The last pass over the final HTML: link safety, link rewriting, the open pixel.

They run after CSS inlining, whose serializer writes every tag the same way (attributes as
name="value", `&` and `"` escaped), so a tag can be read reliably with a regular expression.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from functools import lru_cache

_ANCHOR = re.compile(r"<a\s(?:[^>\"']|\"[^\"]*\"|'[^']*')*>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"\s([^\s\"'>/=]+)(?:=\"([^\"]*)\")?")
_TRACKABLE = re.compile(r"https?://", re.IGNORECASE)
_SCRIPT = re.compile(r"(?:javascript|vbscript|data):", re.IGNORECASE)
_IGNORED_BY_BROWSERS = re.compile(r"[\x00-\x20]+")  # "java\tscript:" still runs


def rewrite_links(markup: str, rewriter: Callable[[str], str] | None) -> str:
    """Apply `rewriter` to the href of every http(s) link, except links marked `data-notrack`,
    whose marker is removed. A javascript:, vbscript: or data: href is dropped, whoever wrote
    it (a template may build a link from lead data)."""
    if rewriter is None:  # then the same tag always becomes the same tag
        return _ANCHOR.sub(lambda m: _kept_anchor(m[0]), markup)
    return _ANCHOR.sub(lambda m: _rewrite_anchor(m[0], rewriter), markup)


@lru_cache(maxsize=1024)
def _kept_anchor(tag: str) -> str:
    return _rewrite_anchor(tag, None)


def _rewrite_anchor(tag: str, rewriter: Callable[[str], str] | None) -> str:
    attributes = [(m[1], m[2]) for m in _ATTRIBUTE.finditer(tag)]
    notrack = any(name.lower() == "data-notrack" for name, _ in attributes)
    rewrite = None if notrack else rewriter
    kept: list[tuple[str, str | None]] = []
    for name, value in attributes:
        lowered = name.lower()
        if lowered == "data-notrack":
            continue
        if lowered == "href" and value is not None:
            url = html.unescape(value)
            if _SCRIPT.match(_IGNORED_BY_BROWSERS.sub("", url)):
                continue
            if rewrite is not None and _TRACKABLE.match(url):
                value = html.escape(rewrite(url), quote=True)
        kept.append((name, value))
    return _anchor_tag(kept)


def _anchor_tag(attributes: list[tuple[str, str | None]]) -> str:
    parts = "".join(f' {name}="{value}"' if value is not None else f" {name}"
                    for name, value in attributes)
    return f"<a{parts}>"


def add_pixel(markup: str, pixel_url: str) -> str:
    """Append a 1x1 image loading `pixel_url` at the end of the body."""
    pixel = (f'<img src="{html.escape(pixel_url, quote=True)}" width="1" height="1" alt="" '
             'style="display:block;width:1px;height:1px;border:0;">')
    head, found, tail = markup.rpartition("</body>")
    return f"{head}{pixel}{found}{tail}" if found else markup + pixel
