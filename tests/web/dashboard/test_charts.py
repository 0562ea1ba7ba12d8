"""The SVG charts: every value is in the chart (a <title> per mark), labels are escaped, and
missing data or no data draws nothing false."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from nurture.web.dashboard.charts import FunnelStep, Series, bar_chart, funnel_chart, line_chart
from nurture.web.dashboard.formats import formatter

SVG = "{http://www.w3.org/2000/svg}"
COUNT, RATE = formatter("count"), formatter("rate")


def titles(svg: str) -> list[str]:
    """The text of every <title> in the chart, the chart's own first: parsing it also proves
    the markup is well-formed XML."""
    return [element.text or "" for element in ET.fromstring(svg).iter(f"{SVG}title")]


def test_bars_carry_each_value_of_each_series() -> None:
    svg = bar_chart("Leads and wins", ["ads", "webinar"],
                    [Series("leads", [3, 1200]), Series("won", [0, 2])], COUNT)
    assert titles(svg) == ["Leads and wins", "ads · leads: 3", "webinar · leads: 1,200",
                           "webinar · won: 2"]
    assert ">0</text>" in svg  # a zero has no bar but still shows its value
    widths = [float(w) for w in re.findall(r'<rect class="s0"[^>]* width="([\d.]+)" height="14"',
                                           svg)]
    assert widths[1] > widths[0] * 100  # bars are proportional to their values


def test_a_missing_value_shows_a_dash_and_no_bar() -> None:
    svg = bar_chart("Reply rate", ["A", "B"], [Series("reply", [0.25, None])], RATE)
    assert titles(svg) == ["Reply rate", "A: 25.0%"]
    assert ">–</text>" in svg


def test_labels_and_titles_are_escaped() -> None:
    hostile = "<script>alert('x')</script>"
    svg = bar_chart(f"T {hostile}", [hostile], [Series(hostile, [1]), Series("b", [2])], COUNT)
    assert "<script>" not in svg
    assert titles(svg)[0] == f"T {hostile}"
    assert f"{hostile} · {hostile}: 1" in titles(svg)


def test_a_long_label_is_shortened_with_the_whole_in_its_title() -> None:
    label = "an industry with a very long name"
    svg = bar_chart("By industry", [label], [Series("leads", [4])], COUNT)
    assert "an industry with …" in svg
    assert label in titles(svg)


def test_the_funnel_flags_a_step_and_notes_each() -> None:
    svg = funnel_chart("Funnel", [FunnelStep("New", 6, "advanced 66.7%"),
                                  FunnelStep("Proposal", 3, "lost 33.3%", True, "bottleneck")],
                       COUNT)
    assert titles(svg) == ["Funnel", "New: 6", "Proposal: 3"]
    assert svg.count('class="step flagged"') == 1
    assert ">bottleneck</text>" in svg and ">advanced 66.7%</text>" in svg
    widths = re.findall(r'class="step[^"]*" x="[\d.]+" y="\d+" width="([\d.]+)"', svg)
    assert float(widths[0]) == 2 * float(widths[1])


def test_a_line_breaks_where_a_value_is_missing() -> None:
    svg = line_chart("Velocity", ["w1", "w2", "w3", "w4", "w5"],
                     [Series("velocity", [10, 20, None, 30, 40])], COUNT)
    assert titles(svg) == ["Velocity", "w1: 10", "w2: 20", "w4: 30", "w5: 40"]
    assert svg.count("<polyline") == 2  # w1-w2 and w4-w5


def test_no_data_says_so() -> None:
    for svg in (bar_chart("Nothing", [], [Series("leads", [])], COUNT),
                funnel_chart("Nothing", [], COUNT),
                line_chart("Nothing", [], [Series("x", [])], COUNT)):
        assert ">no data</text>" in svg
        assert titles(svg) == ["Nothing"]


def test_each_chart_has_its_own_accessible_title() -> None:
    first = bar_chart("One", ["a"], [Series("n", [1])], COUNT)
    second = bar_chart("Two", ["a"], [Series("n", [1])], COUNT)
    ids = [re.search(r'aria-labelledby="([^"]+)"', svg).group(1)  # type: ignore[union-attr]
           for svg in (first, second)]
    assert ids[0] != ids[1]
    assert f'<title id="{ids[0]}">One</title>' in first
