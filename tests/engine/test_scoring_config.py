"""Rescoring on a change of the [scoring] section, on SQLite and PostgreSQL: new points mark
every lead for the rules sweep, which rebuilds each score with them; the same configuration
(however the file spells it) marks nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from nurture.engine.events import LEADS
from nurture.engine.scoring_config import (
    rescore_if_changed,
    scoring_changed,
    scoring_fingerprint,
    stored_fingerprint,
)
from nurture.files.loader import load_project
from tests.engine.funnel import DAY, PIPELINE, T0, Funnel, make_funnel

NOW = T0 + DAY
REPLIED_40 = PIPELINE.replace("replied = 15", "replied = 40")


@pytest.fixture
def funnel(engine: Engine, tmp_path: Path) -> Funnel:
    return make_funnel(engine, tmp_path)


def _scored(funnel: Funnel) -> list[int]:
    """Two leads scored under the funnel's points (a reply is 15), the configuration stored."""
    leads = [funnel.lead("ann@example.com"), funnel.lead("bob@example.com")]
    for lead_id in leads:
        funnel.record(lead_id, "replied", T0)
    rescore_if_changed(funnel.engine, funnel.project.pipeline.scoring, T0)
    funnel.sweep(T0)
    return leads


def _with(funnel: Funnel, root: Path, pipeline: str) -> Funnel:
    (root / "sequences" / "pipeline.toml").write_text(pipeline, encoding="utf-8")
    return Funnel(funnel.engine, load_project(root / "sequences"))


def _due(funnel: Funnel) -> list[tuple[int, object, object]]:
    with funnel.engine.connect() as connection:
        return list(connection.execute(select(LEADS.c.id, LEADS.c.scored_at,
                                              LEADS.c.rules_due_at).order_by(LEADS.c.id)))


def test_new_points_have_the_next_sweep_rescore_every_lead_with_them(
        funnel: Funnel, tmp_path: Path) -> None:
    leads = _scored(funnel)
    assert [funnel.get(lead_id).score for lead_id in leads] == [15, 15]
    changed = _with(funnel, tmp_path, REPLIED_40)
    with funnel.engine.connect() as connection:
        assert scoring_changed(connection, changed.project.pipeline.scoring)
    assert rescore_if_changed(funnel.engine, changed.project.pipeline.scoring, NOW) == 2
    assert all(scored_at is None for _, scored_at, _ in _due(funnel))
    report = changed.sweep(NOW)
    assert report.rescored == 2
    for lead_id in leads:
        lead = funnel.get(lead_id)
        assert lead.score == pytest.approx(40 * 0.5 ** (1 / 30), abs=1e-3)
        assert lead.scored_at == NOW
        last = funnel.score_changes(lead_id)[-1]
        assert last.score_after == pytest.approx(lead.score, abs=1e-3)
        assert last.reason == "scored from its history"
    with funnel.engine.connect() as connection:
        assert stored_fingerprint(connection) == scoring_fingerprint(
            changed.project.pipeline.scoring)
        assert not scoring_changed(connection, changed.project.pipeline.scoring)


def test_the_same_configuration_marks_nothing_however_it_is_written(
        funnel: Funnel, tmp_path: Path) -> None:
    _scored(funnel)
    before = _due(funnel)
    spelled = PIPELINE.replace(
        "points = { opened = 1, clicked = 5, replied = 15, unsubscribed = -50 }",
        "# the same points, in another order\n"
        "points = { unsubscribed = -50, replied = 15, clicked = 5, opened = 1 }")
    assert spelled != PIPELINE
    same = _with(funnel, tmp_path, spelled)
    assert rescore_if_changed(funnel.engine, same.project.pipeline.scoring, NOW) is None
    assert _due(funnel) == before
    assert same.sweep(NOW).rescored == 0


def test_a_new_half_life_or_fit_grade_is_a_change_too(funnel: Funnel, tmp_path: Path) -> None:
    _scored(funnel)
    for pipeline in (PIPELINE.replace("half_life_days = 30", "half_life_days = 10"),
                     PIPELINE.replace('B = "lead.employees >= 50"', 'B = "lead.employees >= 20"')):
        changed = _with(funnel, tmp_path, pipeline)
        assert rescore_if_changed(funnel.engine, changed.project.pipeline.scoring, NOW) == 2


def test_leads_already_due_keep_their_place_in_the_sweep_queue(funnel: Funnel,
                                                               tmp_path: Path) -> None:
    leads = _scored(funnel)
    with funnel.engine.begin() as connection:
        connection.execute(LEADS.update().where(LEADS.c.id == leads[0])
                           .values(rules_due_at=T0))
    changed = _with(funnel, tmp_path, REPLIED_40)
    rescore_if_changed(funnel.engine, changed.project.pipeline.scoring, NOW)
    assert [(lead_id, due) for lead_id, _, due in _due(funnel)] == [(leads[0], T0),
                                                                    (leads[1], NOW)]
