"""How the dashboard writes numbers: the kinds of nurture/reports/tables.py (count, money, rate,
days, date, text) as people read them, "–" for no data. Pure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

NO_DATA = "–"
_FORMATS: dict[str, Callable[[Any], str]] = {
    "count": lambda v: f"{v:,}" if isinstance(v, int) else f"{v:,.{0 if v % 1 == 0 else 1}f}",
    "money": lambda v: f"{v:,.0f}",
    "rate": lambda v: f"{v:.1%}",
    "days": lambda v: f"{v:.1f}",
    "date": lambda v: f"{v:%Y-%m-%d}",
    "score": lambda v: f"{v:.1f}",
}


def shown(value: Any, kind: str = "text") -> str:
    if value is None:
        return NO_DATA
    return _FORMATS.get(kind, str)(value)


def when(value: datetime | None) -> str:
    """A moment to the minute, UTC."""
    return NO_DATA if value is None else f"{value:%Y-%m-%d %H:%M}"


def formatter(kind: str) -> Callable[[float], str]:
    """`shown` for one kind, as the charts take it."""
    return lambda value: shown(value, kind)
