"""Problems found in marketers' files, each located by file, line and field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from nurture.core.errors import NurtureError


@dataclass(frozen=True)
class Problem:
    """One error or warning, printed as FILE:LINE: field: message."""

    file: str
    line: int
    field: str
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        label = "warning: " if self.severity == "warning" else ""
        return ": ".join(p for p in (where, self.field, label + self.message) if p)


class ProblemsFound(NurtureError):  # noqa: N818 - it is a report of problems, raised as one
    """Raised when files have errors; carries every problem, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems
