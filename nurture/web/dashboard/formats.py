"""How the dashboard writes numbers and times: `shown` of nurture/reports/tables.py (as the
command line does), moments to the minute, and formatters for the charts. Pure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from nurture.reports.tables import NO_DATA, shown


def when(value: datetime | None) -> str:
    """A moment to the minute, UTC."""
    return NO_DATA if value is None else f"{value:%Y-%m-%d %H:%M}"


def formatter(kind: str) -> Callable[[float], str]:
    """`shown` for one kind, as the charts take it."""
    return lambda value: shown(value, kind)
