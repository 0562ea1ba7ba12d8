"""Several `nurture run` processes on one PostgreSQL database share the work: every touch goes
out exactly once, and the enrollment sweep runs in one of them at a time (advisory lock)."""

from __future__ import annotations

import re
import signal

import pytest

from tests.e2e.harness import PATIENCE, Site, until

LEADS = 5000
WORKERS = 3


@pytest.mark.slow
@pytest.mark.postgres
def test_three_workers_on_postgresql_send_every_touch_exactly_once(postgres_site: Site) -> None:
    site = postgres_site
    site.seed(LEADS, enrolled=False)  # every worker's enrollment sweep sees all of them
    workers = [site.start() for _ in range(WORKERS)]
    until(lambda: site.all_final(LEADS), 2 * PATIENCE, f"{LEADS} outbox rows final")
    received = site.received_ids()
    assert len(received) == LEADS
    assert set(received.values()) == {1}
    assert site.outbox_statuses() == {"sent": LEADS}
    assert site.enrollments() == {"finished": LEADS}
    for worker in workers:
        worker.signal(signal.SIGTERM)
    assert [worker.exit_code(PATIENCE) for worker in workers] == [0] * WORKERS
    logs = [worker.log for worker in workers]
    assert all("dispatch: claimed" in log for log in logs), "a worker sent nothing"
    assert not any("Traceback" in log for log in logs)
    swept = [int(n) for log in logs for n in re.findall(r"enroll: (\d+) leads looked at", log)]
    assert sum(swept) == LEADS, "sweeps overlapped: the advisory lock did not keep them apart"
