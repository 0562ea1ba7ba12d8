"""Hostile input to the core's parsers: conditions, waits, send windows and time zones. Any
text either parses or raises the core's own error (ExpressionError, DurationError,
WindowError) with a message; evaluating a condition that compiled gives a bool or an
ExpressionError, whatever the lead's data."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nurture.core.durations import Wait, parse_wait
from nurture.core.errors import DurationError, ExpressionError, WindowError
from nurture.core.expressions import NAMES, compile_condition
from nurture.core.samples import FULL_LEAD, MINIMAL_LEAD, condition_context
from nurture.core.windows import parse_clock, parse_days, parse_window, parse_zone

FUZZ = settings(max_examples=100, deadline=None)
KINDS = sorted(NAMES)
NAMES_IN_CONDITIONS = sorted(set().union(*NAMES.values()))
ATOMS = [*NAMES_IN_CONDITIONS, "lead.title", "lead.employees", "lead.custom.plan", "event.url",
         "lead.email", "none", "true", "1", "0", "-1", "2.5", "'vp'", "'/pricing'", "[]",
         "['A', 'B']", "{'a': 1}", "range(5)", "10**9", "'a' * 10000", "lead.__class__",
         "cycler", "lipsum", "namespace", "self", "config", "request", "()"]
OPERATORS = [" and ", " or ", " == ", " != ", " < ", " >= ", " in ", " not in ", " + ", " - ",
             " * ", " ** ", " / ", " // ", " % ", " ~ ", " is ", " is not "]
FILTERS = ["|length", "|lower", "|domain", "|int", "|string", "|list", "|first", "|sum",
           "|attr('__class__')", "|attr('format')", "|center(10)", "|default('x')",
           "|join(',')", "|replace('a', 'b')"]
TESTS = [" is title_like('vp|head')", " is matching('(')", " is title_like('[')",
         " is defined", " is number", " is divisibleby(0)"]


def expressions() -> st.SearchStrategy[str]:
    """Expressions built from the names, operators, filters and tests conditions can use."""
    atoms = st.sampled_from(ATOMS)
    return st.recursive(atoms, lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(OPERATORS), inner).map("".join),
        st.tuples(inner, st.sampled_from(FILTERS)).map("".join),
        st.tuples(inner, st.sampled_from(TESTS)).map("".join),
        inner.map(lambda text: f"({text})"),
        inner.map(lambda text: f"not {text}"),
        st.tuples(inner, inner).map(lambda pair: f"{pair[0]}[{pair[1]}]"),
        st.tuples(inner, st.sampled_from(["title", "url", "upper", "items", "__mro__"])).map(
            lambda pair: f"{pair[0]}.{pair[1]}"),
    ), max_leaves=6)


def lead_values() -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.text(max_size=20), st.integers(), st.floats(),
                     st.booleans(), st.lists(st.integers(), max_size=3),
                     st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2))


def _compiled_or_refused(source: str, kind: str) -> Any:
    try:
        return compile_condition(source, kind)
    except ExpressionError as error:
        assert str(error).strip()
        return None


@FUZZ
@given(st.text(max_size=200), st.sampled_from(KINDS))
def test_any_text_compiles_or_is_refused_with_an_expression_error(source: str, kind: str
                                                                  ) -> None:
    condition = _compiled_or_refused(source, kind)
    if condition is not None:
        assert isinstance(_holds_or_refused(condition, condition_context(FULL_LEAD)), bool)


def _holds_or_refused(condition: Any, context: dict[str, Any]) -> bool:
    try:
        return condition.holds(context)
    except ExpressionError as error:
        assert condition.source in str(error)
        return False


@FUZZ
@given(expressions(), st.sampled_from(KINDS),
       st.dictionaries(st.sampled_from(["title", "employees", "company", "custom", "email"]),
                       lead_values(), max_size=4))
def test_a_condition_holds_or_not_for_any_lead_data_and_never_crashes(
        source: str, kind: str, lead: dict[str, Any]) -> None:
    condition = _compiled_or_refused(source, kind)
    if condition is not None:
        for base in (FULL_LEAD, MINIMAL_LEAD):
            context = condition_context({**base, **lead})
            assert isinstance(_holds_or_refused(condition, context), bool)


@pytest.mark.parametrize("source", [
    "lead.title is title_like('(')",
    "lead.title is matching('[a-')",
    "lead.title is title_like('*')",
])
def test_a_broken_pattern_is_refused_not_raised_as_a_regex_error(source: str) -> None:
    """title_like takes a regular expression; a broken one must be an ExpressionError (at
    compile time, or when evaluated), not re.error escaping into the daemon."""
    try:
        condition = compile_condition(source, "fit")
    except ExpressionError:
        return
    with pytest.raises(ExpressionError):
        condition.holds(condition_context(FULL_LEAD))


@pytest.mark.parametrize("source", ["(" * 100 + "1" + ")" * 100, "[" * 300 + "]" * 300,
                                    "1" + " + 1" * 450, "not " * 450 + "true"])
def test_a_condition_nested_too_deeply_is_an_expression_error(source: str) -> None:
    with pytest.raises(ExpressionError):
        compile_condition(source, "rule")


@FUZZ
@given(st.one_of(st.text(max_size=40), st.from_regex(
    r"\s*\d{1,25}(\.\d{0,5})?\s*(m|min|h|hr|d|day|days|w|weeks?|bd|business days?|fortnight)"
    r"(\s*,?\s*\d{1,6}\s*[a-z]{1,8}){0,3}\s*", fullmatch=True)))
def test_any_wait_parses_within_ten_years_or_is_a_duration_error(text: str) -> None:
    try:
        wait = parse_wait(text)
    except DurationError as error:
        assert repr(text) in str(error)
        return
    assert isinstance(wait, Wait)
    assert timedelta(0) <= wait.delta <= timedelta(days=3650)
    assert 0 <= wait.business_days <= 2600


@FUZZ
@given(st.one_of(st.text(max_size=30), st.from_regex(
    r"\s*(mon|tue|wed|thu|fri|sat|sun|monday|weekdays|x)(\s*[-,]\s*(mon|tue|sun|fri|y)){0,3}\s*",
    fullmatch=True)))
def test_any_days_text_parses_or_is_a_window_error(text: str) -> None:
    try:
        days = parse_days(text)
    except WindowError as error:
        assert str(error).strip()
        return
    assert days <= frozenset(range(7))


@FUZZ
@given(st.one_of(st.text(max_size=10), st.from_regex(r"\s*\d{1,3}:\d{1,3}\s*", fullmatch=True)),
       st.one_of(st.text(max_size=10), st.from_regex(r"\d\d:\d\d", fullmatch=True)))
def test_any_window_parses_to_an_ordered_range_or_is_a_window_error(start: str, end: str
                                                                    ) -> None:
    try:
        window = parse_window("mon-fri", start, end)
    except WindowError as error:
        assert str(error).strip()
        return
    assert window.end is None or window.start < window.end
    assert window.start == parse_clock(start)


@FUZZ
@given(st.one_of(
    st.text(max_size=300),
    st.sampled_from(["America", "Europe", "Etc", "posix", "right", "Europe/", "UTC/",
                     "../etc/passwd", "/etc/localtime", "a" * 300, "Europe/Paris\x00"]),
    st.from_regex(r"[A-Z][a-z]{2,10}(/[A-Z][a-z_]{2,12}){0,2}", fullmatch=True),
))
def test_any_time_zone_name_is_a_zone_or_a_window_error(name: str) -> None:
    """Zone names come from the configuration and from lead data: a directory of the zone
    database or an over-long name must be refused like any other unknown name."""
    try:
        zone = parse_zone(name)
    except WindowError as error:
        assert repr(name) in str(error)
        return
    assert zone.key == name
