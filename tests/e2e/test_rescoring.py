"""A changed [scoring] section rescores the stored leads through the running daemon: at start
and on SIGHUP every lead is marked, and the rules sweep rebuilds its score with the new points;
a start with the same configuration marks nothing."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from nurture.engine.events import LEADS, NewEvent, record_event
from nurture.files.loader import load_project
from nurture.store.engine import writing
from tests.e2e.harness import PATIENCE, Site, until

PIPELINE = """\
[[stage]]
id = "prospecting"
probability = 0.05

[scoring.points]
replied = {points}
"""
CHANGED = "will be rescored by the rules sweep"


@pytest.fixture(params=["sqlite_site", "postgres_site"])
def site(request: pytest.FixtureRequest) -> Iterator[Site]:
    found: Site = request.getfixturevalue(request.param)
    yield found


def _score(site: Site, lead_id: int) -> float | None:
    """The lead's score once the sweep has rebuilt it (None while it is marked)."""
    with site.engine.connect() as connection:
        row = connection.execute(select(LEADS.c.score, LEADS.c.scored_at)
                                 .where(LEADS.c.id == lead_id)).one()
    return None if row.scored_at is None else row.score


def _lead_who_replied(site: Site) -> int:
    project = load_project(site.root / "sequences")
    at = datetime.now(UTC)
    [lead_id] = site.seed(1, enrolled=False)
    with writing(site.engine) as connection:
        record_event(connection, project, NewEvent(lead_id, "replied", at, {}))
    return lead_id


def test_changed_points_rescore_every_lead_at_start_and_on_reload(site: Site) -> None:
    site.write("sequences/pipeline.toml", PIPELINE.format(points=15))
    lead_id = _lead_who_replied(site)
    assert _score(site, lead_id) == 15

    daemon = site.start()  # no fingerprint stored yet: the scores' configuration is unknown
    daemon.wait_for_log(f"1 lead {CHANGED}")
    until(lambda: _score(site, lead_id) == 15, PATIENCE, "the sweep to rescore the lead")
    daemon.signal(signal.SIGTERM)
    assert daemon.exit_code(PATIENCE) == 0

    daemon = site.start()
    daemon.wait_for_log("nurture running")  # logged after the check
    assert CHANGED not in daemon.log
    daemon.signal(signal.SIGTERM)
    assert daemon.exit_code(PATIENCE) == 0

    site.write("sequences/pipeline.toml", PIPELINE.format(points=40))
    daemon = site.start()
    after = daemon.wait_for_log(f"1 lead {CHANGED}")
    until(lambda: _score(site, lead_id) == 40, PATIENCE, "the sweep to rescore with 40 points")

    site.write("sequences/pipeline.toml", PIPELINE.format(points=25))
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log(f"1 lead {CHANGED}", after=after)
    until(lambda: _score(site, lead_id) == 25, PATIENCE, "the sweep to rescore with 25 points")
    daemon.signal(signal.SIGTERM)
    assert daemon.exit_code(PATIENCE) == 0
