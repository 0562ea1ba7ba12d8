"""The database fails under a running daemon: PostgreSQL restarts (a cluster of the test's own,
tests/faults/pg_cluster.py), another process holds SQLite's write lock for a while. The daemon
keeps running, logs each cause once, loses no touch and sends nothing twice."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from nurture.store.engine import make_engine, upgrade
from tests.e2e.harness import ENROLLMENTS, PATIENCE, Site, until
from tests.faults.clocked import SharedClock
from tests.faults.harness import (
    assert_each_touch_arrived_once,
    catch_up,
    job_errors,
    lines_with,
    start,
)
from tests.faults.pg_cluster import Cluster
from tests.smtp_sink import SmtpSink, unused_port

TOUCHES = 600
RESTART_AFTER = (150, 350)  # messages received: inside the second and the fourth batch
LOCK_SECONDS = 12  # more than two of the daemon's waits for a lock (busy_timeout, 5 s)
HOLDER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("ROLLBACK")
"""


@pytest.fixture
def restartable_site(tmp_path: Path, sink: SmtpSink) -> Iterator[tuple[Site, Cluster]]:
    cluster = Cluster.create()
    try:
        engine = make_engine(cluster.url)
        upgrade(engine)
        site = Site(tmp_path, cluster.url, engine, sink)
        try:
            yield site, cluster
        finally:
            site.stop_all()
            engine.dispose()
    finally:
        cluster.destroy()


@contextmanager
def write_locked(database: Path, seconds: float) -> Iterator[None]:
    """Another process takes SQLite's exclusive lock on `database` and keeps it `seconds`;
    the block runs while it holds it, and the context ends once it let go."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(database), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        yield
    finally:
        assert holder.wait(timeout=seconds + 30) == 0


def test_postgresql_restarting_under_the_daemon(restartable_site: tuple[Site, Cluster],
                                                clock: SharedClock) -> None:
    site, cluster = restartable_site
    site.seed(TOUCHES)
    site.sink.slow("*", 0.003)  # sending lasts long enough for the restart to land inside
    daemon = start(site, clock, batch_size=100)
    for received in RESTART_AFTER:
        until(lambda: len(site.sink.messages) >= received, PATIENCE,  # noqa: B023
              f"{received} messages")
        cluster.restart()
    assert len(site.sink.messages) < TOUCHES, "the daemon finished before the restarts"
    catch_up(site, clock, daemon, TOUCHES)
    assert_each_touch_arrived_once(site, TOUCHES)
    assert daemon.is_running() and "Traceback" not in daemon.log
    # One line per cause and restart (shutting down, sessions ended, refusing connections,
    # starting up), whatever the number of failed runs.
    failures = [line for line in daemon.log.splitlines() if " ERROR " in line]
    assert len(failures) <= 4 * len(RESTART_AFTER), "\n".join(failures)
    assert all("tick failed" in line or "job failed" in line for line in failures)


def test_sqlite_locked_by_another_process(sqlite_site: Site, clock: SharedClock) -> None:
    site = sqlite_site
    site.seed(TOUCHES)
    with site.engine.begin() as connection:  # half the touches are due in an hour
        connection.execute(update(ENROLLMENTS).where(ENROLLMENTS.c.id > TOUCHES // 2)
                           .values(next_touch_at=clock.now() + timedelta(hours=1)))
    port = unused_port()
    daemon = start(site, clock, batch_size=100, http_port=port)
    until(lambda: site.outbox_statuses()["sent"] == TOUCHES // 2, PATIENCE, "the first half")
    with write_locked(site.root / "nurture.db", LOCK_SECONDS):
        clock.advance(timedelta(hours=1))  # the second half falls due while it is locked
    catch_up(site, clock, daemon, TOUCHES)
    assert_each_touch_arrived_once(site, TOUCHES)
    assert job_errors(port) >= 2, "the lock did not last long enough to fail two jobs"
    [line] = [line for line in lines_with(daemon, "database is locked") if "ERROR" in line]
    assert "dispatch tick failed" in line or "job failed" in line
    assert len(lines_with(daemon, "working again")) == 1
    assert daemon.is_running() and "Traceback" not in daemon.log
