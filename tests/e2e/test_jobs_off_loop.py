"""The daemon in this process: its sweeps run beside the event loop, not in it (tracking hits
and API calls are answered by the same loop, and a rules sweep of tens of thousands of leads
takes seconds), and once running it keeps what it built at start out of garbage collections."""

from __future__ import annotations

import asyncio
import gc
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from nurture.daemon import Daemon
from nurture.settings import Settings
from nurture.store.models import Lead
from tests.e2e.harness import Site

LEADS = Lead.__table__  # type: ignore[attr-defined]


def _daemon(site: Site) -> Daemon:
    return Daemon(Settings(
        database_url=site.database_url, outbox="maildir", maildir=site.root / "outbox",
        sequences_dir=site.root / "sequences", templates_dir=site.root / "templates",
        sender={"email": "sales@nurture.test"}, http_port=0))


async def _loop_turns_during(job: asyncio.Future[None]) -> int:
    """How many times the event loop ran another task while `job` ran."""
    turns = 0

    async def other_task() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)  # a turn of the loop, no time passing

    beside = asyncio.create_task(other_task())
    await asyncio.sleep(0)  # the other task starts
    before = turns
    await job
    during = turns - before
    beside.cancel()
    return during


def test_the_rules_sweep_leaves_the_event_loop_free(sqlite_site: Site) -> None:
    due = datetime.now(UTC) - timedelta(minutes=1)
    sqlite_site.seed(300, enrolled=False, rules_due_at=due)
    daemon = _daemon(sqlite_site)

    async def sweep() -> int:
        return await _loop_turns_during(asyncio.ensure_future(daemon.rules_job()))

    try:
        assert asyncio.run(sweep()) > 0
    finally:
        daemon.engine.dispose()
    with sqlite_site.engine.connect() as connection:  # and it did its work
        assert connection.execute(select(func.count()).select_from(LEADS).where(
            LEADS.c.scored_at.is_not(None))).scalar_one() == 300


def test_the_daemon_freezes_its_start_up_heap_once_running(sqlite_site: Site) -> None:
    daemon = _daemon(sqlite_site)

    async def frozen_once_running() -> int:
        running = asyncio.create_task(daemon.run())
        try:
            for _ in range(10_000):  # turns of the loop: run() starts up meanwhile
                if running.done() or gc.get_freeze_count() or daemon.scheduler:
                    break
                await asyncio.sleep(0)
            return gc.get_freeze_count()
        finally:
            daemon.request_stop()
            await running

    gc.unfreeze()
    try:
        assert asyncio.run(frozen_once_running()) > 0
    finally:
        gc.unfreeze()
