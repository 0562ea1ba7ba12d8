"""The reports' email counts as the dispatcher and the recording of events keep them: real
sends to an SMTP sink on loopback, a refusal with a hard bounce, opens and clicks by people and
by a scanner, a reply naming no email — counted by hand, and equal to what a rebuild makes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from nurture.core.sequences import Pipeline
from nurture.files.leads_csv import LeadRow
from nurture.reports.filters import Filters
from nurture.reports.sequences import sequences_report
from nurture.store.engine import writing
from nurture.store.leads import upsert_leads
from nurture.store.models import Lead
from tests.engine.world import NOW, World, opened_world, sequence_toml, touch
from tests.reports.written import rebuilt_state, summary_state

LEADS = Lead.__table__  # type: ignore[attr-defined]
NAMES = ("ann", "bob", "cy", "dee")


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> Iterator[World]:
    """The dispatch suite's world (tests/engine/world.py): sequences, templates, an SMTP sink."""
    with opened_world(engine, tmp_path) as made:
        yield made


def counts(world: World) -> list[tuple[int, ...]]:
    assert world.project is not None
    pipeline: Pipeline = world.project.pipeline
    with world.engine.connect() as connection:
        [welcome] = sequences_report(connection, pipeline, Filters(),
                                     NOW + timedelta(days=3)).sequences
    return [(t.touch, t.emails.sent, t.emails.bounced, t.emails.opened, t.emails.clicked,
             t.emails.replied) for t in welcome.touches]


def test_sends_and_engagement_are_counted_as_they_happen(world: World) -> None:
    world.load(sequence_toml("welcome", [touch("0d", "First"), touch("1d", "Second")],
                             head='stop_on = ["unsubscribed", "bounced"]\n'))
    with writing(world.engine) as connection:
        upsert_leads(connection, [LeadRow(email=f"{name}@example.com", first_name="Pat",
                                          timezone="UTC") for name in NAMES],
                     "prospecting", NOW - timedelta(days=1))
        ids = dict(zip(NAMES, connection.execute(
            select(LEADS.c.id).order_by(LEADS.c.id)).scalars(), strict=True))
    world.sink.answer("dee@example.com", "550 5.1.1 <dee@example.com>: User unknown")
    world.enroll(NOW)
    assert world.tick(NOW).outcomes["sent"] == 3
    first = {name: world.outbox(ids[name])[0].id for name in NAMES}
    later = NOW + timedelta(hours=2)
    world.record(ids["ann"], "opened", later, outbox_id=first["ann"])
    world.record(ids["ann"], "opened", later + timedelta(hours=1), outbox_id=first["ann"])
    world.record(ids["bob"], "opened", later, outbox_id=first["bob"], machine=True)
    world.record(ids["bob"], "clicked", later, outbox_id=first["bob"], machine=True)
    world.record(ids["cy"], "clicked", later, outbox_id=first["cy"])
    assert counts(world) == [(1, 4, 1, 1, 1, 0)]  # dee's refusal counts as sent and bounced
    assert world.tick(NOW + timedelta(days=1)).outcomes["sent"] == 3
    world.record(ids["cy"], "replied", NOW + timedelta(days=2))  # names no email: cy's second
    assert counts(world) == [(1, 4, 1, 1, 1, 0), (2, 3, 0, 0, 0, 1)]
    assert summary_state(world.engine) == rebuilt_state(world.engine)
    assert counts(world) == [(1, 4, 1, 1, 1, 0), (2, 3, 0, 0, 0, 1)]
