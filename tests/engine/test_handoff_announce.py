"""Every path that moves a lead with a handoff announces it on PostgreSQL (NOTIFY at commit,
store/handoff_channel.py): the announcement is made where moves are written, not by each caller."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import Engine, select

from nurture.core.rules import Move
from nurture.engine.stages import LeadMoves, record_moves
from nurture.files.leads_csv import LeadRow
from nurture.store.engine import writing
from nurture.store.handoff_channel import CHANNEL
from nurture.store.leads import upsert_leads
from nurture.store.models import Lead

LEADS = Lead.__table__  # type: ignore[attr-defined]
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _announcements_after_move(engine: Engine, *, handoff: bool) -> int:
    conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        with writing(engine) as connection:
            upsert_leads(connection, [LeadRow("ann@example.com")], "prospecting", NOW)
            lead = connection.execute(select(LEADS)).one()
            move = Move("prospecting", "sql", "qualified", "score 60", "move", handoff=handoff)
            record_moves(connection, [LeadMoves(lead, [move], NOW, 60.0, 60.0)], "rules")
        return len(list(listener.notifies(timeout=2, stop_after=1)))


@pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)
def test_a_move_with_a_handoff_is_announced_once_it_commits(engine: Engine) -> None:
    assert _announcements_after_move(engine, handoff=True) == 1


@pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)
def test_a_move_without_a_handoff_is_not_announced(engine: Engine) -> None:
    assert _announcements_after_move(engine, handoff=False) == 0
