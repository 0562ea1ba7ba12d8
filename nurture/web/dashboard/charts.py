"""Charts as inline SVG drawn on the server: bars (one or more series), a funnel and a line.
Pure: numbers in, markup out, nothing loaded from elsewhere. Every label is escaped; every mark
carries a <title> with its exact value, and each page puts the same numbers in a table next to
the chart for those who cannot see it. Colours come from classes (static/dashboard.css)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from hashlib import sha256
from math import ceil

from markupsafe import Markup, escape

Format = Callable[[float], str]
WIDTH = 420  # user units; the page scales the chart to its column
LABEL_CHARS = 18


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]


@dataclass(frozen=True)
class FunnelStep:
    label: str
    value: float
    note: str = ""  # e.g. "advanced 67% · lost 17%"
    is_flagged: bool = False  # drawn in the warning colour, e.g. the bottleneck
    flag: str = ""  # said next to a flagged step


def bar_chart(title: str, categories: Sequence[str], series: Sequence[Series],
              value_text: Format) -> Markup:
    """Horizontal bars, one row per category and one bar per series in it."""
    bar_left, bar_right = 128, WIDTH - 62
    bar_height, gap, row_gap = 14, 3, 12
    legend = _legend(series) if len(series) > 1 else []
    top = 26 if legend else 4
    row_height = len(series) * (bar_height + gap) - gap + row_gap
    largest = _largest(value for s in series for value in s.values)
    scale = (bar_right - bar_left) / largest if largest else 0.0
    parts = list(legend)
    for row, category in enumerate(categories):
        y = top + row * row_height
        middle = y + (row_height - row_gap) / 2
        parts.append(_text(2, middle + 4, _short(category), "label", full=category))
        for index, one in enumerate(series):
            value = one.values[row]
            bar_y = y + index * (bar_height + gap)
            shown = "–" if value is None else value_text(value)
            tip = f"{category} · {one.name}: {shown}" if len(series) > 1 else \
                f"{category}: {shown}"
            width = max(value or 0.0, 0.0) * scale
            if value:
                width = max(width, 1.5)
                parts.append(f'<rect class="s{index % 6}" x="{bar_left}" y="{bar_y}" '
                             f'width="{width:.1f}" height="{bar_height}">'
                             f"<title>{escape(tip)}</title></rect>")
            parts.append(_text(bar_left + width + 4, bar_y + bar_height - 3, shown, "value"))
    height = top + max(len(categories), 1) * row_height
    if not categories:
        parts.append(_text(2, top + 14, "no data", "empty"))
    return _svg(title, height, parts, "bars")


def funnel_chart(title: str, steps: Sequence[FunnelStep], value_text: Format) -> Markup:
    """One centred bar per step, as wide as its value against the widest."""
    area_left, area_right, row_height, bar_height = 112, WIDTH - 4, 58, 28
    middle = (area_left + area_right) / 2
    largest = _largest(step.value for step in steps)
    scale = (area_right - area_left) / largest if largest else 0.0
    parts = []
    for row, step in enumerate(steps):
        y = row * row_height + 4
        width = max(step.value * scale, 2.0 if step.value else 0.0)
        css = "step flagged" if step.is_flagged else "step"
        shown = value_text(step.value)
        parts.append(_text(2, y + 12, _short(step.label, 15), "label", full=step.label))
        parts.append(_text(2, y + 28, shown, "value"))
        if step.is_flagged and step.flag:
            parts.append(_text(2, y + 43, step.flag, "flag"))
        parts.append(f'<rect class="{css}" x="{middle - width / 2:.1f}" y="{y}" '
                     f'width="{width:.1f}" height="{bar_height}" rx="3">'
                     f"<title>{escape(step.label)}: {escape(shown)}</title></rect>")
        if step.note:
            parts.append(_text(middle, y + bar_height + 15, step.note, "note", anchor="middle"))
    height = max(len(steps), 1) * row_height + 4
    if not steps:
        parts.append(_text(2, 18, "no data", "empty"))
    return _svg(title, height, parts, "funnel")


def line_chart(title: str, labels: Sequence[str], series: Sequence[Series],
               value_text: Format) -> Markup:
    """Lines over evenly spaced labels (e.g. weeks); a missing value breaks the line."""
    left, right, top, bottom, height = 56, WIDTH - 24, 28 if len(series) > 1 else 10, 36, 220
    plot_height = height - top - bottom
    largest = _largest(value for s in series for value in s.values)
    parts = _legend(series) if len(series) > 1 else []
    for fraction in (0.0, 0.5, 1.0):
        y = top + plot_height * (1 - fraction)
        parts.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}"/>')
        parts.append(_text(left - 4, y + 4, value_text(largest * fraction), "axis",
                           anchor="end"))
    step = (right - left) / max(len(labels) - 1, 1)
    every = max(1, ceil(len(labels) / 6))

    def point(index: int, value: float) -> tuple[float, float]:
        y = top + plot_height * (1 - (value / largest if largest else 0.0))
        return left + index * step, y

    for index, label in enumerate(labels):
        last = index == len(labels) - 1  # always labelled; a label too close to it is not
        if last or (index % every == 0 and len(labels) - 1 - index >= every / 2):
            parts.append(_text(left + index * step, height - bottom + 16, label, "axis",
                               anchor="end" if last and index else "middle"))
    for number, one in enumerate(series):
        runs: list[list[tuple[float, float]]] = [[]]
        for index, value in enumerate(one.values):
            if value is None:
                runs.append([])
                continue
            x, y = point(index, value)
            runs[-1].append((x, y))
            name = f"{one.name} · " if len(series) > 1 else ""
            parts.append(f'<circle class="s{number % 6}" cx="{x:.1f}" cy="{y:.1f}" r="3">'
                         f"<title>{escape(name)}{escape(labels[index])}: "
                         f"{escape(value_text(value))}</title></circle>")
        for run in runs:
            if len(run) > 1:
                points = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                parts.insert(0, f'<polyline class="line s{number % 6}" points="{points}"/>')
    if not labels:
        parts.append(_text(left, top + 20, "no data", "empty"))
    return _svg(title, height, parts, "line")


def _legend(series: Sequence[Series]) -> list[str]:
    parts, x = [], 2.0
    for index, one in enumerate(series):
        parts.append(f'<rect class="s{index % 6}" x="{x:.1f}" y="4" width="10" height="10"/>')
        parts.append(_text(x + 14, 13, one.name, "legend"))
        x += 24 + 7 * len(one.name)
    return parts


def _svg(title: str, height: float, parts: list[str], kind: str) -> Markup:
    body = "".join(parts)
    ident = f"chart-{sha256((title + body).encode()).hexdigest()[:12]}"  # unique on a page
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {kind}" role="img" '
        f'viewBox="0 0 {WIDTH} {height:.0f}" aria-labelledby="{ident}">'
        f'<title id="{ident}">{escape(title)}</title>{body}</svg>')


def _text(x: float, y: float, text: str, css: str, *, anchor: str = "start",
          full: str | None = None) -> str:
    tip = f"<title>{escape(full)}</title>" if full is not None and full != text else ""
    return (f'<text class="{css}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">'
            f"{tip}{escape(text)}</text>")


def _short(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _largest(values: Iterable[float | None]) -> float:
    return max([0.0, *(value for value in values if value is not None)])
