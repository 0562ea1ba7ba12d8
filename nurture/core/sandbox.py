"""The bounded Jinja2 sandbox that conditions (nurture.core.expressions) and templates
(nurture.render.environment) run in: the immutable sandbox, with what builds a huge value in
one step checked before it runs — `*`, `**` and `%` ('a' * 10**9, 2 ** 100000,
'%999999999s' % x), the widths of str.format and the `center`, `indent` and `format` filters.

Each environment sets its own `max_size`: the longest value one step may build.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from string import Formatter
from typing import Any

from jinja2.exceptions import SecurityError
from jinja2.filters import do_center, do_format, do_indent
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_EXPONENT = 64
MAX_INTEGER_BITS = 65_536
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?")


def check_operands(operator: str, left: Any, right: Any, max_size: int) -> None:
    """SecurityError when `left operator right` would build a value past the limits."""
    if operator == "*":
        sized = [v for v in (left, right) if isinstance(v, str | list | tuple)]
        counts = [v for v in (left, right) if isinstance(v, int)]
        if sized and counts and len(sized[0]) * counts[0] > max_size:
            raise SecurityError(f"repeating a value past {max_size:,} items is not allowed")
    elif operator == "**" and isinstance(right, int | float):
        too_big = isinstance(left, int) and left.bit_length() * abs(right) > MAX_INTEGER_BITS
        if abs(right) > MAX_EXPONENT or too_big:
            raise SecurityError(f"a power past {MAX_INTEGER_BITS:,} bits or with an exponent "
                                f"past {MAX_EXPONENT} is not allowed")
    elif operator == "%" and isinstance(left, str):
        values = right if isinstance(right, tuple) else (right,)
        check_widths([size for spec in _PERCENT_SPEC.findall(left) for size in spec], values,
                     max_size)


def check_widths(sizes: Iterable[str], values: Iterable[Any], max_size: int) -> None:
    """SecurityError when a format's width or precision passes `max_size`: `sizes` are its
    written digits, or "*" for one taken from `values`."""
    for size in sizes:
        numbers = [int(size)] if size.isdigit() else [
            value for value in values if size == "*" and isinstance(value, int)]
        if any(number > max_size for number in numbers):
            raise SecurityError(f"a format width past {max_size:,} is not allowed")


def check_format(text: str, args: tuple[Any, ...], kwargs: dict[str, Any], max_size: int
                 ) -> None:
    """`check_widths` for str.format: digits in each field's spec, nested fields as "*"."""
    values = [*args, *kwargs.values()]
    values += [v for arg in args if isinstance(arg, Mapping) for v in arg.values()]
    for _, _, spec, _ in Formatter().parse(text):
        if spec:
            check_widths([*re.findall(r"\d+", spec), *("*" * ("{" in spec))], values, max_size)


def _center(max_size: int, value: Any, width: int = 80) -> str:
    check_widths([str(width)], (), max_size)
    return do_center(value, width)


def _indent(max_size: int, value: Any, width: int | str = 4, first: bool = False,
            blank: bool = False) -> str:
    check_widths([str(width)] if isinstance(width, int) else [], (), max_size)
    return do_indent(value, width, first, blank)


def _format(max_size: int, value: Any, *args: Any, **kwargs: Any) -> str:
    check_operands("%", str(value), tuple(kwargs.values()) or args, max_size)
    return do_format(value, *args, **kwargs)


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox with `*`, `**`, `%`, str.format and the padding filters checked
    before they run, against `max_size`."""

    intercepted_binops = frozenset({"*", "**", "%"})
    max_size = 1_000_000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters.update(center=partial(_center, self.max_size),
                            indent=partial(_indent, self.max_size),
                            format=partial(_format, self.max_size))

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        check_operands(operator, left, right, self.max_size)
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        text, max_size = value.__self__, self.max_size

        def checked(*args: Any, **kwargs: Any) -> str:
            check_format(text, args, kwargs, max_size)
            return wrapped(*args, **kwargs)

        return checked
