"""SQLite takes one daemon: a second `nurture run` on the same database refuses to start and
says what to do instead."""

from __future__ import annotations

import signal

from tests.e2e.harness import PATIENCE, Site


def test_second_run_on_the_same_sqlite_database_refuses_to_start(sqlite_site: Site) -> None:
    site = sqlite_site
    first = site.start()
    first.wait_for_log("nurture running")
    second = site.start()
    assert second.exit_code(PATIENCE) != 0
    message = " ".join(second.log.split())  # undo the console's line wrapping
    assert str(site.root / "nurture.db") in message
    assert "use PostgreSQL to run several workers" in message
    assert f"pid {first.process.pid}" in message
    assert first.is_running()
    first.signal(signal.SIGTERM)
    assert first.exit_code(15) == 0
