"""What the fault tests share: daemons on a shared clock (tests/faults/clocked.py), started and
watched through the end-to-end harness (tests/e2e/harness.py), and the checks every fault ends
with — the daemon still runs, each cause was logged once, every touch arrived exactly once.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from functools import partial
from typing import Any

import httpx
from sqlalchemy import func, select

from tests.e2e.harness import OUTBOX, PATIENCE, ROOT, DaemonProcess, Site, until
from tests.e2e.test_http import samples
from tests.faults.clocked import CLOCK_FILE_ENV, SharedClock

# Longer than any pause or backoff the daemon takes after a fault (retry backoff, paused
# sending, a lease left by a failed tick): moving the clock by this much makes it try again.
CATCH_UP = timedelta(minutes=20)
TICK = "dispatch: claimed"  # the line a dispatch tick that claimed something logs


def start(site: Site, clock: SharedClock, **overrides: Any) -> DaemonProcess:
    """`site.start(**overrides)`, on `clock`: `python -m tests.faults.clocked run`."""
    env = site.env(**overrides)
    env[CLOCK_FILE_ENV] = str(clock.path)
    env["PYTHONPATH"] = str(ROOT)
    daemon = DaemonProcess(env, site.root, site.root / f"daemon{len(site.processes) + 1}.log",
                           module="tests.faults.clocked")
    site.processes.append(daemon)
    return daemon


def lines_with(daemon: DaemonProcess, text: str) -> list[str]:
    """The daemon's log lines that contain `text`."""
    return [line for line in daemon.log.splitlines() if text in line]


def dispatched(daemon: DaemonProcess, after: int = 0) -> int:
    """Wait until the daemon logs a dispatch tick that claimed something past log offset
    `after`; returns the offset where that line ends."""
    return daemon.wait_for_log(TICK, after=after)


def ride_out(clock: SharedClock, daemon: DaemonProcess, steps: list[timedelta]) -> None:
    """Let simulated time pass during a fault, step by step, the daemon trying again after
    each step (every step is longer than the longest wait it takes between tries)."""
    for step in steps:
        mark = len(daemon.log)
        clock.advance(step)
        dispatched(daemon, mark)


def catch_up(site: Site, clock: SharedClock, daemon: DaemonProcess, touches: int,
             rounds: int = 6) -> None:
    """After the fault cleared: move the clock on until every touch is final."""
    for _ in range(rounds):
        if site.all_final(touches):
            return
        mark = len(daemon.log)
        clock.advance(CATCH_UP)
        until(partial(_tried_again, site, daemon, touches, mark), PATIENCE,
              "the daemon to try again")
    until(lambda: site.all_final(touches), PATIENCE, f"{touches} outbox rows final")


def _tried_again(site: Site, daemon: DaemonProcess, touches: int, mark: int) -> bool:
    return site.all_final(touches) or TICK in daemon.log[mark:]


def outbox_attempts(site: Site) -> Counter[int]:
    """How many outbox rows were tried how many times."""
    with site.engine.connect() as connection:
        rows = connection.execute(select(OUTBOX.c.attempts, func.count())
                                  .group_by(OUTBOX.c.attempts)).all()
    return Counter({attempts: count for attempts, count in rows})


def assert_each_touch_arrived_once(site: Site, touches: int) -> None:
    received = site.received_ids()
    assert len(received) == touches, f"{touches - len(received)} touches never arrived"
    twice = {message_id: n for message_id, n in received.items() if n > 1}
    assert not twice, f"sent more than once: {twice}"
    assert site.outbox_statuses() == {"sent": touches}
    assert site.enrollments() == {"finished": touches}


def job_errors(port: int, job: str | None = None) -> float:
    """nurture_job_errors_total for `job` (every job: None), from the daemon's /metrics (0
    while it cannot answer: its loop may be busy waiting on the database)."""
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    except httpx.HTTPError:
        return 0.0
    return sum(value for (name, labels), value in samples(text).items()
               if name == "nurture_job_errors_total" and job in (None, dict(labels)["job"]))
