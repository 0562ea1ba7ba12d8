"""Where each key of a TOML document sits: a map from key path to line number.

tomllib gives values without positions, so this small scanner follows table headers
(`[a.b]`, `[[touch]]` counted per array) and `key = value` lines, skipping multi-line strings.
A path looks like pydantic's error locations: ("touch", 2, "wait") for the third [[touch]].
"""

from __future__ import annotations

import re

Path_ = tuple[str | int, ...]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_NAME = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_KEY = re.compile(rf"^\s*({_NAME}(?:\s*\.\s*{_NAME})*)\s*=")
_INLINE_KEY = re.compile(r"""(?:[{,]\s*)([A-Za-z0-9_-]+)\s*=""")


def _split_dotted(text: str) -> list[str]:
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", text)
    return [p[1:-1] if p[:1] in "\"'" else p for p in parts]


def key_lines(text: str) -> dict[Path_, int]:
    """Map every table and key path in `text` to its 1-based line number."""
    lines: dict[Path_, int] = {}
    counters: dict[tuple[str, ...], int] = {}
    table: Path_ = ()
    in_string: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_string:
            if line.count(in_string) % 2 == 1:
                in_string = None
            continue
        header = _HEADER.match(line)
        if header:
            table = _table_path(header.group(1) == "[[", _split_dotted(header.group(2)), counters)
            lines.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if not key:
            continue
        path = (*table, *_split_dotted(key.group(1)))
        lines.setdefault(path, number)
        rest = line[key.end():]
        for inline in _INLINE_KEY.findall(rest):
            lines.setdefault((*path, inline), number)
        for quote in ('"""', "'''"):
            if rest.count(quote) % 2 == 1:
                in_string = quote
    return lines


def _table_path(is_array: bool, names: list[str], counters: dict[tuple[str, ...], int]) -> Path_:
    """Resolve a header to a path, numbering arrays of tables (`[[scoring.bonus]]`)."""
    path: list[str | int] = []
    for depth, name in enumerate(names):
        path.append(name)
        prefix = tuple(names[: depth + 1])
        is_last = depth == len(names) - 1
        if is_last and is_array:
            counters[prefix] = counters.get(prefix, -1) + 1
            for key in [k for k in counters if len(k) > len(prefix) and k[: len(prefix)] == prefix]:
                del counters[key]
            path.append(counters[prefix])
        elif not is_last and prefix in counters:
            path.append(counters[prefix])
    return tuple(path)


def line_of(lines: dict[Path_, int], location: Path_) -> int:
    """The line of the longest known prefix of `location` (0 when nothing matches)."""
    for end in range(len(location), 0, -1):
        found = lines.get(tuple(location[:end]))
        if found:
            return found
    return 0


def field_name(location: Path_) -> str:
    """A location as people read it: ("touch", 2, "wait") → "touch[3].wait" (counted from 1)."""
    text = ""
    for part in location:
        text += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text
