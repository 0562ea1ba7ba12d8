"""The garbage collector in a long-running process.

Everything a process builds at start — the schema, compiled statements, templates, settings,
imported modules: several hundred thousand objects — lives until it stops, yet the collector
walks all of it at every full collection. Under tracking traffic those walks were the longest
pauses of a request: with them frozen, the slowest of ~20,000 hits over PostgreSQL fell from
117–127 ms to 50–72 ms and p99 at 32 connections from 74–81 ms to 39–40 ms
(docs/performance.md).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SWEEP_THRESHOLD = 50_000  # new container objects between young collections in a sweep (700)
_sweeps = 0  # sweeps under way in this process
_sweeps_lock = threading.Lock()
_thresholds_before = gc.get_threshold()


def settle() -> None:
    """Collect what starting up left behind, then keep the survivors out of later collections
    (`gc.freeze`); call once a process has built what it keeps."""
    gc.collect()
    gc.freeze()


@contextmanager
def sweeping() -> Iterator[None]:
    """Collect young objects every `SWEEP_THRESHOLD` new ones instead of every 700 while a sweep
    runs, then give back the thresholds found. A batch builds thousands of rows, dicts and facts
    that live until it ends: at 700 a 30,000-lead SQLite sweep ran 506 young, 45 middle and 4
    full collections, walking them again and again (8 % of its CPU); at 50,000 it ran one, and
    at 200,000 leads the sweepers' CPU per lead fell 14-15 % (docs/performance.md, third round).
    The threshold is the process's: in the daemon, requests served during a sweep share it.
    Counted across threads, as the daemon sweeps in worker threads: the first sweep in raises
    it, the last one out restores it."""
    global _sweeps, _thresholds_before
    with _sweeps_lock:
        if _sweeps == 0:
            _thresholds_before = gc.get_threshold()
            gc.set_threshold(SWEEP_THRESHOLD, *_thresholds_before[1:])
        _sweeps += 1
    try:
        yield
    finally:
        with _sweeps_lock:
            _sweeps -= 1
            if _sweeps == 0:
                gc.set_threshold(*_thresholds_before)
