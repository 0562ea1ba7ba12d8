"""kill -9 in the middle of sending loses no touch, and only the touches that were inside their
SMTP transaction (outbox rows left `sending`) may arrive twice."""

from __future__ import annotations

import pytest

from tests.e2e.harness import PATIENCE, Site, until

TOUCHES = 1000
KILL_AFTER = (150, 450, 750)  # messages received before each kill -9


@pytest.mark.slow
def test_kill_9_while_sending_loses_nothing_and_duplicates_only_interrupted_sends(
        sqlite_site: Site) -> None:
    site = sqlite_site
    site.seed(TOUCHES)
    interrupted: set[str] = set()
    for threshold in KILL_AFTER:
        daemon = site.start()
        site.sink.wait_for(threshold, timeout=PATIENCE)
        daemon.kill()
        assert len(site.received_ids()) < TOUCHES, "the daemon finished before the kill"
        interrupted |= site.message_ids("sending")
    last = site.start()
    until(lambda: site.all_final(TOUCHES), PATIENCE, "every outbox row final")
    received = site.received_ids()
    assert len(received) == TOUCHES
    duplicated = {message_id for message_id, count in received.items() if count > 1}
    assert duplicated <= interrupted
    assert all(count <= 2 for count in received.values())
    assert site.outbox_statuses() == {"sent": TOUCHES}
    assert site.enrollments() == {"finished": TOUCHES}
    assert interrupted, "no kill landed inside an SMTP transaction: the test proved nothing"
    assert last.is_running()
