"""Condition expressions (`when`, `enroll_when`, `skip_when`, fit grades), compiled in Jinja2's
immutable sandbox and evaluated against a fixed, documented context.

Each kind of condition sees its own names (`NAMES`); `compile_condition` rejects a name the
kind does not offer, so a typo fails in `nurture validate`, not at 3 a.m. in the daemon.
Missing data never raises at run time: a comparison with a missing value is simply false.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from nurture.core.errors import ExpressionError
from nurture.core.sandbox import BoundedSandbox

LEAD_FIELDS = (
    "email", "first_name", "last_name", "company", "title", "industry", "employees",
    "source", "country", "region", "timezone", "phone", "website", "deal_value",
    "stage", "status", "score", "fit", "owner", "custom",
)

_LEAD = (
    "lead: the lead's fields (" + ", ".join(LEAD_FIELDS) + "); custom fields as lead.custom.NAME"
)
DOCS: dict[str, str] = {
    "lead": _LEAD,
    "score": "the lead's current engagement score (a number, decayed to now)",
    "fit": "the lead's fit grade: 'A', 'B', 'C' or 'D'",
    "stage": "the id of the lead's current stage",
    "days_in_stage": "whole days since the lead entered its stage",
    "days_since_engagement": (
        "whole days since the last human open, click, reply or form (large if never)"
    ),
    "touches_sent": "emails sent to the lead in its current stage",
    "sequence_finished": "true when every sequence of the current stage has run to its end",
    "event": "the event being scored: event.type, event.url, event.data (a mapping)",
    "opened_in_sequence": "true if the lead opened an email of this enrollment",
    "clicked_in_sequence": "true if the lead clicked a link in an email of this enrollment",
    "replied_in_sequence": "true if the lead replied to an email of this enrollment",
    "touch_number": "the 1-based position of the touch being decided",
}
_LEAD_FACTS = frozenset({"lead", "score", "fit", "stage", "days_in_stage",
                         "days_since_engagement", "touches_sent", "sequence_finished"})
NAMES: dict[str, frozenset[str]] = {
    "fit": frozenset({"lead"}),
    "bonus": frozenset({"lead", "event"}),
    "enroll_when": _LEAD_FACTS,
    "rule": _LEAD_FACTS,
    "touch": _LEAD_FACTS | {"opened_in_sequence", "clicked_in_sequence",
                            "replied_in_sequence", "touch_number"},
}
MAX_LENGTH = 2000


def _title_like(value: Any, pattern: str) -> bool:
    """`lead.title is title_like('vp|head')`: a case-insensitive regex search; false when empty."""
    return bool(value) and re.search(pattern, str(value), re.IGNORECASE) is not None


def _email_domain(value: Any) -> str:
    return str(value or "").rpartition("@")[2].lower()


MAX_REPEAT = 10_000  # the longest value one step of a condition may build


class _ConditionEnvironment(BoundedSandbox):
    """The bounded sandbox templates run in too (nurture.core.sandbox), with a tighter size:
    `'a' * 10**9`, `'x' | center(10**9)` or `'%999999999s' % x` fail at once."""

    max_size = MAX_REPEAT


def _build_environment() -> ImmutableSandboxedEnvironment:
    env = _ConditionEnvironment(undefined=StrictUndefined, autoescape=False)
    env.tests["title_like"] = _title_like
    env.tests["matching"] = _title_like
    env.filters["domain"] = _email_domain
    return env


_ENV = _build_environment()


@dataclass(frozen=True)
class Condition:
    """A compiled condition; call `holds(context)` for its truth."""

    source: str
    kind: str
    _render: Callable[[Context], Iterator[str]]  # the compiled template's root function
    _globals: Mapping[str, Any]  # the environment's globals the condition names (range…)

    def holds(self, context: Mapping[str, Any]) -> bool:
        """True when the condition holds. A comparison with missing data is false, not an error.

        The compiled expression runs over `context` itself: Jinja's own expression call would
        copy every global into a fresh context first, three quarters of the cost of a call."""
        names = context if isinstance(context, dict) and not self._globals else {
            **self._globals, **context}
        frame = Context(_ENV, names, None, {})
        try:
            for _ in self._render(frame):
                pass
            return bool(frame.vars["result"])
        except (TypeError, UndefinedError, ZeroDivisionError, ValueError):
            return False
        except (SecurityError, OverflowError) as exc:
            raise ExpressionError(f"{self.source!r} is not allowed: {exc}") from exc
        except re.error as exc:
            raise ExpressionError(f"{self.source!r} has a pattern that does not compile: "
                                  f"{exc}") from exc
        except RecursionError as exc:
            raise ExpressionError(f"{self.source!r} is nested too deeply") from exc


def compile_condition(source: str, kind: str) -> Condition:
    """Compile `source` for a condition of `kind` (a key of NAMES); ExpressionError says why not."""
    return _compile_cached(source, kind)


@lru_cache(maxsize=4096)
def _compile_cached(source: str, kind: str) -> Condition:
    if kind not in NAMES:
        raise ValueError(f"unknown condition kind {kind!r}")
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("a condition must be a non-empty expression, e.g. \"score >= 40\"")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"a condition may be at most {MAX_LENGTH} characters long")
    try:
        parsed = _ENV.parse("{{ " + source + " }}")
        evaluate = _ENV.compile_expression(source, undefined_to_none=False)
        declared = meta.find_undeclared_variables(parsed)
        named = {node.name for node in parsed.find_all(nodes.Name)}
    except TemplateSyntaxError as exc:
        raise ExpressionError(f"{source!r} does not parse: {exc.message}") from exc
    except (RecursionError, MemoryError) as exc:
        raise ExpressionError("the condition is nested too deeply to read") from exc
    unknown = sorted(declared - NAMES[kind])
    if unknown:
        offered = ", ".join(sorted(NAMES[kind]))
        raise ExpressionError(
            f"unknown name {unknown[0]!r} in {source!r}; here you can use: {offered}"
        )
    _check_lead_fields(source)
    return Condition(source=source, kind=kind,
                     _render=evaluate._template.root_render_func,
                     _globals={name: _ENV.globals[name] for name in named & _ENV.globals.keys()})


_LEAD_ATTRIBUTE = re.compile(r"\blead\.([A-Za-z_]\w*)")


def _check_lead_fields(source: str) -> None:
    for name in _LEAD_ATTRIBUTE.findall(source):
        if name not in LEAD_FIELDS:
            raise ExpressionError(
                f"lead has no field {name!r} in {source!r}; fields: {', '.join(LEAD_FIELDS)} "
                f"(custom fields: lead.custom.{name})"
            )
