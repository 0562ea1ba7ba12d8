"""`nurture simulate`: the example pipeline on a virtual clock, against a throw-away database —
same seed, same run; the configured database is never touched."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nurture.files.loader import load_project
from nurture.settings import Settings, load_settings
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


def _with_example_reps(workspace: Workspace) -> Settings:
    example = load_settings(REPO / "config.example.toml")
    return load_settings(workspace.config).model_copy(
        update={"reps": example.reps, "handoff": example.handoff})


def test_the_examples_fill_the_whole_funnel_from_prospect_to_customer(
        workspace: Workspace, tmp_path: Path) -> None:
    """Eager leads and quick reps, so 100 leads cross every stage in 75 days: each stage gets
    leads, by the rules of pipeline.toml (qualification, handoff, time limits, disqualifying,
    onboarding) and by reps moving deals."""
    settings = _with_example_reps(workspace)
    rates = Rates(open=0.6, click=0.3, reply=0.08, form=0.3, advance=0.6, lose=0.1)
    options = SimulationOptions(leads_file=_leads(tmp_path, 100), days=75,
                                step=timedelta(hours=4), rates=rates, seed=3)
    result = asyncio.run(simulate(options, settings, START))
    assert result.unreached == []  # every stage had leads at some point
    made_by = {(source, target): by for source, target, by in result.moves}
    assert made_by[("prospecting", "mql")] == "marketing-qualified"
    assert made_by[("mql", "sql")] in {"sales-qualified", "hot-lead-fast-track"}
    assert made_by[("prospecting", "nurture")] == "time limit"  # max_days 60
    assert made_by[("prospecting", "lost")] == "disqualify-poor-fit"
    assert made_by[("negotiation", "won")] == "by hand"
    assert made_by[("won", "customer")] == "won-becomes-customer"
    handoff_rules = {rule.name for rule in load_project(workspace.sequences).pipeline.rules
                     if rule.handoff}
    handed = sum(n for (_, _, by), n in result.moves.items() if by in handoff_rules)
    assert sum(result.handoffs.values()) == handed and "nobody" not in result.handoffs
    assert len(result.handoffs) > 1  # spread over the team, not all to one account owner
    assert result.over_cap == [] and result.weekly_cap == settings.limits.per_lead_per_week


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
    assert "(25 leads)" in " ".join(result.output.split())
    assert "Stage changes" in result.output or "No stage changes." in result.output
    assert "Frequency cap kept" in result.output
    assert not Path(workspace.database_url.removeprefix("sqlite:///")).exists()


def test_a_click_rate_above_the_open_rate_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    result = workspace.run("simulate", "--days", "7", "--leads", _leads(tmp_path, 5),
                           "--open-rate", "0.1", "--click-rate", "0.2")
    assert result.exit_code == 2
    assert "cannot exceed --open-rate" in result.output


def test_a_stage_that_nothing_leads_to_is_called_out(workspace: Workspace,
                                                     tmp_path: Path) -> None:
    pipeline = workspace.sequences / "pipeline.toml"
    text = pipeline.read_text(encoding="utf-8")
    rule = text.index('[[rule]]\nname = "won-becomes-customer"')
    pipeline.write_text(text[:rule] + text[text.index("[[rule]]", rule + 1):], encoding="utf-8")
    result = workspace.run("simulate", "--days", "7", "--leads", _leads(tmp_path, 5))
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "no rule, on_stale or sales step leads to stage 'customer'" in output
    assert "stage 'won'" not in output  # reps close deals: reachable, just not reached
    assert "No lead reached these stages in this run:" in output and "won" in output
