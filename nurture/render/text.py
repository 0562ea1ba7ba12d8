"""HTML → plain text for the text part of HTML bodies and of the layout's footer:
links as `text (url)`, paragraphs and <br> as line breaks, list items as "- " (or "1. ")."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "ul",
                         "ol", "hr"})
_LINES = frozenset({"div", "tr", "td", "th", "li", "section", "article", "header", "footer"})
_HIDDEN = frozenset({"head", "style", "script", "title", "template"})
_SPACES = re.compile(r"[ \t\r\n\f\v]+")


def html_to_text(markup: str) -> str:
    """Readable plain text of an HTML fragment or document."""
    collector = _TextCollector()
    collector.feed(markup)
    collector.close()
    return "\n".join(line.strip() for line in "".join(collector.out).split("\n")).strip()


class _TextCollector(HTMLParser):
    """Collects text; block tags ask for line breaks, written only before the next text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.breaks = 0  # newlines owed before the next text
        self.hidden = 0
        self.links: list[tuple[str, int]] = []  # (href, where the link's text starts in out)
        self.lists: list[int | None] = []  # a counter per open <ol>, None per <ul>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag == "br":
            self._write("")
            self.out.append("\n")
        elif tag in _PARAGRAPHS or tag in _LINES:
            self.breaks = max(self.breaks, 2 if tag in _PARAGRAPHS else 1)
            if tag in ("ul", "ol"):
                self.lists.append(0 if tag == "ol" else None)
            elif tag == "li":
                self._write(self._list_marker())
            elif tag == "hr":
                self._write("---")
                self.breaks = 2
        elif tag == "a":
            self._write("")
            self.links.append((dict(attrs).get("href") or "", len(self.out)))
        elif tag == "img":
            self._write(dict(attrs).get("alt") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _PARAGRAPHS or tag in _LINES:
            self.breaks = max(self.breaks, 2 if tag in _PARAGRAPHS else 1)
            if tag in ("ul", "ol") and self.lists:
                self.lists.pop()
        elif tag == "a" and self.links:
            self._close_link(*self.links.pop())

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        text = _SPACES.sub(" ", data)
        if self.breaks and not text.strip():
            return
        self._write(text.lstrip() if self.breaks else text)

    def _write(self, text: str) -> None:
        if self.breaks and self.out:
            self.out.append("\n" * self.breaks)
        self.breaks = 0
        self.out.append(text)

    def _list_marker(self) -> str:
        if not self.lists or self.lists[-1] is None:
            return "- "
        self.lists[-1] += 1
        return f"{self.lists[-1]}. "

    def _close_link(self, href: str, start: int) -> None:
        text = _SPACES.sub(" ", "".join(self.out[start:])).strip()
        url = href.removeprefix("mailto:")
        if not href or href.startswith("#") or text == url:
            return
        self.out[start:] = [f"{text} ({url})" if text else url]
