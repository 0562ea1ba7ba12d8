"""Run in a spawned process by tests/engine/test_sweep_collector.py (a module the child can import
by name, which a test module under --import-mode=importlib is not)."""

from __future__ import annotations

import gc
from datetime import datetime

from sqlalchemy import Engine, event

from nurture.engine import rules_sweep
from nurture.files.loader import Project


def thresholds_in_a_worker(url: str, project: Project, now: datetime
                           ) -> tuple[set[tuple[int, int, int]], int]:
    """In a fresh process, as a sweep's worker: gc.get_threshold() at each statement of its
    share, and the leads it moved."""
    seen: set[tuple[int, int, int]] = set()

    def statement(*args: object) -> None:
        seen.add(gc.get_threshold())

    event.listen(Engine, "before_cursor_execute", statement)  # the worker makes its own engine
    report = rules_sweep._sweep_share(url, project, now, 4, None, (0, 1))
    return seen, report.moves
