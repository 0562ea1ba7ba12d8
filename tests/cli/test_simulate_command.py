"""`nurture simulate`: the example pipeline on a virtual clock, against a throw-away database —
same seed, same run; the configured database is never touched."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path

from nurture.settings import load_settings
from nurture.simulate import SimulationOptions, simulate
from nurture.simulator import Rates
from tests.cli.workspace import REPO, Workspace

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday


def _leads(tmp_path: Path, count: int) -> Path:
    lines = (REPO / "examples" / "leads.csv").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "few.csv"
    path.write_text("\n".join(lines[:count + 1]) + "\n", encoding="utf-8")
    return path


def test_the_simulation_mails_the_leads_week_by_week_within_the_caps(
        workspace: Workspace, tmp_path: Path) -> None:
    settings = load_settings(workspace.config)
    options = SimulationOptions(leads_file=_leads(tmp_path, 40), days=21, seed=3)
    result = asyncio.run(simulate(options, settings, START))
    assert result.leads == 40
    assert [week.number for week in result.weeks] == [1, 2, 3]
    assert all(sum(week.stages.values()) == 40 for week in result.weeks)
    assert result.weeks[0].emails > 0
    cap = settings.limits.per_lead_per_week
    assert all(week.emails_per_lead_max <= cap for week in result.weeks)
    assert sum(result.engagement.values()) > 0
    again = asyncio.run(simulate(options, settings, START))
    assert [(w.emails, w.stages) for w in again.weeks] == [(w.emails, w.stages)
                                                          for w in result.weeks]
    assert again.engagement == result.engagement


def test_no_engagement_means_no_engagement_events(workspace: Workspace, tmp_path: Path) -> None:
    settings = load_settings(workspace.config)
    options = SimulationOptions(leads_file=_leads(tmp_path, 10), days=7,
                                rates=Rates(0, 0, 0, 0))
    result = asyncio.run(simulate(options, settings, START))
    assert result.engagement == {}
    assert result.weeks[0].emails > 0


def test_the_command_prints_the_tables_and_leaves_the_configured_database_alone(
        workspace: Workspace, tmp_path: Path) -> None:
    leads = _leads(tmp_path, 25)
    result = workspace.run("simulate", "--days", "14", "--leads", leads)
    assert result.exit_code == 0, result.output
    assert "Leads per stage" in result.output and "Emails per lead per week" in result.output
    assert re.search(r"week 2: \d+ emails", result.output)
    assert "(25 leads)" in result.output.replace("\n", " ")
    assert not Path(workspace.database_url.removeprefix("sqlite:///")).exists()


def test_a_click_rate_above_the_open_rate_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    result = workspace.run("simulate", "--days", "7", "--leads", _leads(tmp_path, 5),
                           "--open-rate", "0.1", "--click-rate", "0.2")
    assert result.exit_code == 2
    assert "cannot exceed --open-rate" in result.output
