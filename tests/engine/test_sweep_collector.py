"""The collector during a rules sweep (`sweeping` in nurture/heap.py): young objects collected
less often while a sweep runs, in the sweeping process and in its workers, and the thresholds
given back after it; observed from the statements the sweep runs, on SQLite and PostgreSQL."""

from __future__ import annotations

import gc
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, event

from nurture import heap
from tests.engine.funnel import DAY, T0, Funnel, make_funnel
from tests.engine.worker_thresholds import thresholds_in_a_worker


@pytest.fixture
def funnel(engine: Engine, tmp_path: Path) -> Funnel:
    funnel = make_funnel(engine, tmp_path)
    for n in range(6):
        funnel.lead(f"lead{n}@example.com", stage="won")  # due, and moved by `onboard`
    return funnel


def thresholds_seen(funnel: Funnel, now: datetime) -> set[tuple[int, int, int]]:
    """gc.get_threshold() at each statement of a sweep at `now`."""
    seen: set[tuple[int, int, int]] = set()

    def statement(*args: object) -> None:
        seen.add(gc.get_threshold())

    event.listen(funnel.engine, "before_cursor_execute", statement)
    try:
        funnel.sweep(now, batch_size=4, max_batches=None)
    finally:
        event.remove(funnel.engine, "before_cursor_execute", statement)
    return seen


def test_a_sweep_collects_young_objects_less_often_and_restores_the_thresholds(
        funnel: Funnel) -> None:
    before = gc.get_threshold()
    assert thresholds_seen(funnel, T0 + DAY) == {(heap.SWEEP_THRESHOLD, *before[1:])}
    assert gc.get_threshold() == before


def test_a_failed_sweep_restores_the_thresholds_too(funnel: Funnel) -> None:
    before = gc.get_threshold()

    def fail(*args: object) -> None:
        raise RuntimeError("the database went away")

    event.listen(funnel.engine, "before_cursor_execute", fail)
    try:
        with pytest.raises(RuntimeError, match="went away"):
            funnel.sweep(T0 + DAY)
    finally:
        event.remove(funnel.engine, "before_cursor_execute", fail)
    assert gc.get_threshold() == before


def test_a_sweep_ending_while_another_runs_leaves_the_other_its_thresholds(
        funnel: Funnel) -> None:
    before = gc.get_threshold()
    other = heap.sweeping()  # a sweep in another of the daemon's threads, begun during this one
    begun: list[bool] = []

    def begin_other(*args: object) -> None:
        if not begun:
            begun.append(True)
            other.__enter__()

    event.listen(funnel.engine, "before_cursor_execute", begin_other)
    try:
        funnel.sweep(T0 + DAY)
    finally:
        event.remove(funnel.engine, "before_cursor_execute", begin_other)
    assert gc.get_threshold() == (heap.SWEEP_THRESHOLD, *before[1:])
    other.__exit__(None, None, None)
    assert gc.get_threshold() == before


def test_a_sweep_worker_process_collects_young_objects_less_often(funnel: Funnel) -> None:
    url = funnel.engine.url.render_as_string(hide_password=False)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        seen, moves = pool.submit(thresholds_in_a_worker, url, funnel.project,
                                  T0 + DAY).result()
    assert (seen, moves) == ({(heap.SWEEP_THRESHOLD, *gc.get_threshold()[1:])}, 6)
