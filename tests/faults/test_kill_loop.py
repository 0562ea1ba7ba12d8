"""kill -9 at random moments of a long run, again and again, then a clean finish: no touch is
lost, and the only touches that arrive twice are ones whose SMTP transaction the kill cut
(outbox rows left `sending`). The run is counted and reported.

CI runs a short loop; `make soak` runs the full one (FAULTS_KILLS=20 FAULTS_KILL_TOUCHES=5000).
FAULTS_KILL_SEED repeats a run's kill moments."""

from __future__ import annotations

import os
import random
from collections import Counter

import pytest
from sqlalchemy import select

from tests.e2e.harness import OUTBOX, PATIENCE, Site, until

TOUCHES = int(os.environ.get("FAULTS_KILL_TOUCHES", "1500"))
KILLS = int(os.environ.get("FAULTS_KILLS", "6"))
SEED = int(os.environ.get("FAULTS_KILL_SEED", str(random.SystemRandom().randrange(10**6))))


def kill_moments(rng: random.Random, touches: int, kills: int) -> list[int]:
    """After how many received messages each kill lands: spread over the run, some right at
    a start (0 more messages: the daemon is starting up or claiming its first batch)."""
    moments = sorted(rng.sample(range(int(touches * 0.9)), kills))
    return [moment if rng.random() > 0.15 else -1 for moment in moments]


def sending(site: Site) -> set[tuple[str, int]]:
    """The touches marked `sending`, with the attempt that marked them."""
    with site.engine.connect() as connection:
        return {(row.message_id, row.attempts) for row in connection.execute(
            select(OUTBOX.c.message_id, OUTBOX.c.attempts).where(OUTBOX.c.status == "sending"))}


@pytest.mark.slow
def test_kill_9_again_and_again_loses_nothing_and_resends_only_cut_transactions(
        sqlite_site: Site) -> None:
    site = sqlite_site
    site.seed(TOUCHES)
    rng = random.Random(SEED)
    interrupted: Counter[str] = Counter()  # touches cut inside SMTP, and how many times
    killed_inside_smtp = 0
    for moment in kill_moments(rng, TOUCHES, KILLS):
        before = sending(site)
        daemon = site.start()
        if moment < 0:
            daemon.wait_for_log("nurture running as")
        else:
            until(lambda: len(site.sink.messages) >= moment, PATIENCE,  # noqa: B023
                  f"{moment} messages")
        daemon.kill()
        cut = sending(site) - before  # marked `sending` (again) by this daemon
        killed_inside_smtp += bool(cut)
        interrupted.update(message_id for message_id, _ in cut)
    last = site.start()
    until(lambda: site.all_final(TOUCHES), PATIENCE, "every outbox row final")
    received = site.received_ids()
    duplicated = {message_id for message_id, count in received.items() if count > 1}
    print(f"kill loop (seed {SEED}): {TOUCHES} touches, {KILLS} kills, {killed_inside_smtp} "
          f"inside SMTP transactions; {len(interrupted)} touches cut, "
          f"{len(duplicated)} of them arrived twice; lost {TOUCHES - len(received)}")
    assert len(received) == TOUCHES, f"lost {TOUCHES - len(received)} touches (seed {SEED})"
    assert duplicated <= set(interrupted), f"a touch not cut arrived twice (seed {SEED})"
    assert all(count <= 1 + interrupted[message_id] for message_id, count in received.items())
    assert site.outbox_statuses() == {"sent": TOUCHES}
    assert site.enrollments() == {"finished": TOUCHES}
    assert last.is_running()
