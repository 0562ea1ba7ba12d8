"""The exception tree of the core. Adapters turn these into messages for people.

NurtureError
├── SequenceError      a sequence or pipeline file is wrong (file, line, field)
├── ExpressionError    a condition does not compile or uses an unknown name
├── DurationError      a wait such as "3d" or "2 business days" does not parse
├── WindowError        a send window (days, hours, time zone) does not parse
└── TemplateError      a template does not compile or render, or a header is unsafe
"""

from __future__ import annotations


class NurtureError(Exception):
    """Base of every error nurture raises on purpose."""


class SequenceError(NurtureError):
    """A problem in a file marketers write, located by file, line and field."""

    def __init__(self, message: str, *, file: str = "", line: int = 0, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.field = field

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        parts = [p for p in (where, self.field) if p]
        return ": ".join([*parts, self.message])


class ExpressionError(NurtureError, ValueError):
    """A condition expression is invalid."""


class DurationError(NurtureError, ValueError):
    """A duration or wait does not parse."""


class WindowError(NurtureError, ValueError):
    """A send window does not parse."""


class TemplateError(NurtureError, ValueError):
    """A template fails to compile or render, or would produce an unsafe header."""
