"""`nurture report …` run in-process on a real database (a SQLite file, a PostgreSQL schema)
holding the world of world.py, with the clock frozen at its NOW."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
import typer
from freezegun import freeze_time
from sqlalchemy import delete
from typer.testing import CliRunner, Result

from nurture import cli
from nurture.cli import report
from nurture.store.engine import upgrade, writing
from nurture.store.models import LeadTally, StageEntry
from nurture.store.tallies import DAILY
from tests.cli.workspace import Workspace, make_workspace
from tests.reports.world import NOW, PIPELINE_TOML, seed

FEBRUARY = ("--from", "2026-02-01", "--to", "2026-03-01")
SUMMARIES = (StageEntry.__table__, LeadTally.__table__,  # type: ignore[attr-defined]
             *(daily.table for daily in DAILY))
SEQUENCE = """\
id = "{id}"
stage = "{stage}"
{touches}
"""
TOUCH = '[[touch]]\nwait = "1d"\ntemplate = "note.md.j2"\nsubject = "Note"\n'


def nurture_app() -> typer.Typer:
    """The real `nurture` app; until nurture/cli/__init__.py registers `report`, a copy of its
    entry point with the sub-app added."""
    if any(group.name == "report" for group in cli.app.registered_groups):
        return cli.app
    app = typer.Typer(pretty_exceptions_enable=False)
    app.callback()(cli.main)
    app.add_typer(report.app, name="report")
    return app


@pytest.fixture
def workspace(tmp_path: Path, db_url: str) -> Workspace:
    """A workspace whose sequences/ holds the world's pipeline and its two sequences, and whose
    database (each of SQLite and PostgreSQL) holds the world."""
    workspace = make_workspace(tmp_path / "work", db_url)
    shutil.rmtree(workspace.sequences)
    workspace.sequences.mkdir()
    (workspace.sequences / "pipeline.toml").write_text(PIPELINE_TOML, encoding="utf-8")
    for sequence_id, stage in (("welcome", "new"), ("nudge", "qualified")):
        (workspace.sequences / f"{sequence_id}.toml").write_text(
            SEQUENCE.format(id=sequence_id, stage=stage, touches=TOUCH * 6), encoding="utf-8")
    engine = workspace.engine()
    upgrade(engine)
    seed(engine)
    engine.dispose()
    return workspace


def run(workspace: Workspace, *args: str) -> Result:
    with freeze_time(NOW):
        return CliRunner().invoke(nurture_app(),
                                  ["--config", str(workspace.config), "report", *args])


def sections(output: str) -> dict[str, list[list[str]]]:
    """CSV output as {title: [header, rows…]}."""
    found: dict[str, list[list[str]]] = {}
    for block in output.strip().split("\n\n"):
        title, *rows = list(csv.reader(io.StringIO(block)))
        found[title[0]] = rows
    return found


def test_funnel_table_shows_stages_and_flags_the_bottleneck(workspace: Workspace) -> None:
    result = run(workspace, "funnel", *FEBRUARY)
    assert result.exit_code == 0, result.output
    assert "funnel from 2026-02-01 00:00 to 2026-03-02 00:00 UTC" in result.stdout
    assert "Stages now" in result.stdout
    qualified_now = next(line for line in result.stdout.splitlines() if "Qualified" in line)
    assert qualified_now.split("│")[1:-1] == [" Qualified ", "     2 ", " 4,500 ", "    1,350 ",
                                              "     11.5 ", "          0 "]
    bottleneck = [line for line in result.stdout.splitlines() if "yes" in line]
    assert len(bottleneck) == 1 and "Proposal" in bottleneck[0] and "33.3%" in bottleneck[0]


def test_funnel_csv_gives_raw_values_per_table(workspace: Workspace) -> None:
    result = run(workspace, "funnel", *FEBRUARY, "--format", "csv")
    assert result.exit_code == 0, result.output
    tables = sections(result.stdout)
    assert list(tables) == ["Stages now", "Conversion of the leads that entered each step"]
    steps = tables["Conversion of the leads that entered each step"]
    assert steps[0] == ["step", "entered", "advanced", "lost", "open", "conversion", "drop-off",
                        "bottleneck"]
    assert steps[3][:5] == ["Proposal", "3", "2", "1", "0"]
    assert float(steps[3][5]) == pytest.approx(2 / 3) and steps[3][7] == "yes"
    assert tables["Stages now"][3] == ["Proposal", "0", "0.0", "0.0", "", "0"]  # empty stage


def test_velocity_json_holds_the_period_and_each_week(workspace: Workspace) -> None:
    result = run(workspace, "velocity", *FEBRUARY, "--format", "json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert (found["report"], found["generated_at"]) == ("velocity", NOW.isoformat())
    assert found["window"] == {"start": "2026-02-01T00:00:00+00:00",
                               "end": "2026-03-02T00:00:00+00:00"}
    period = found["period"]
    assert (period["leads"], period["opportunities"], period["won"], period["lost"]) == (6, 4, 2, 1)
    assert period["velocity_per_day"] == pytest.approx(4 * (2 / 3) * 2000 / 25.5)
    assert [w["start"][:10] for w in found["weeks"]] == [
        "2026-01-26", "2026-02-02", "2026-02-09", "2026-02-16", "2026-02-23"]


@pytest.mark.parametrize("name", ["funnel", "velocity", "forecast", "sequences", "sources"])
def test_every_report_prints_json_on_every_database(workspace: Workspace, name: str) -> None:
    result = run(workspace, name, *FEBRUARY, "--format", "json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert (found["report"], found["window"]["end"]) == (name, "2026-03-02T00:00:00+00:00")


def test_funnel_json_gives_average_days_in_stage_as_numbers(workspace: Workspace) -> None:
    # PostgreSQL's AVG of an EXTRACT is NUMERIC: the report must still hold plain floats.
    result = run(workspace, "funnel", *FEBRUARY, "--format", "json")
    assert result.exit_code == 0, result.output
    days = {s["stage"]: s["average_days"] for s in json.loads(result.stdout)["stages"]}
    assert days == {"new": 25.5, "qualified": 11.5, "proposal": None, "won": 10.5,
                    "lost": 15.5, "nurture": None}


def test_forecast_with_a_target_gives_the_pipeline_needed(workspace: Workspace) -> None:
    result = run(workspace, "forecast", *FEBRUARY, "--target", "10000", "--format", "json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["weighted_value"] == pytest.approx(1350.0)
    assert found["pipeline_needed"] == pytest.approx(60_000)
    table = run(workspace, "forecast", *FEBRUARY, "--target", "10000")
    assert "60,000" in table.stdout and "55,500" in table.stdout


def test_sequences_csv_names_small_ab_samples(workspace: Workspace) -> None:
    result = run(workspace, "sequences", *FEBRUARY, "--sequence", "welcome", "--format", "csv")
    assert result.exit_code == 0, result.output
    tables = sections(result.stdout)
    emails = tables["Emails per sequence and touch"]
    assert emails[0] == ["sequence", "touch", "sent", "delivered", "opens", "clicks", "replies",
                         "unsubs", "bounces"]
    assert emails[1:] == [["welcome", "all", "5", "4", "3", "1", "1", "1", "1"],
                          ["welcome", "1", "4", "3", "2", "1", "1", "1", "1"],
                          ["welcome", "2", "1", "1", "1", "0", "0", "0", "0"]]
    rates = tables["Rates (bounces over sent, the rest over delivered)"]
    assert [float(rate) for rate in rates[2][2:]] == pytest.approx([2 / 3, 1 / 3, 1 / 3, 1 / 3,
                                                                     1 / 4])
    assert tables["Subject variants: replies"] == [
        ["sequence", "touch", "variant", "subject", "delivered", "replies", "rate", "against A"],
        ["welcome", "1", "A", "a1 subject 0", "2", "1", "0.5", "baseline"],
        ["welcome", "1", "B", "b1 subject 1", "1", "0", "0.0", "sample too small"]]
    assert [row[5:] for row in tables["Subject variants: clicks"][1:]] == [
        ["1", "0.5", "baseline"], ["0", "0.0", "sample too small"]]


def test_sources_for_one_owner(workspace: Workspace) -> None:
    result = run(workspace, "sources", *FEBRUARY, "--owner", "Rita@Example.com", "--format",
                 "csv")
    assert result.exit_code == 0, result.output
    assert sections(result.stdout)["By lead source"][1:] == [
        ["webinar", "1", "1", "1.0", "1000.0", "1000.0"]]


@pytest.mark.parametrize("args, message", [
    (("--owner", "nobody@example.com"), "error: no rep with email or id 'nobody@example.com'"),
    (("--sequence", "welcom"), "error: no sequence 'welcom' (sequences: nudge, welcome)"),
    (("--from", "2026-03-01", "--to", "2026-02-01"),
     "error: --to 2026-02-01 is before --from 2026-03-01"),
])
def test_bad_filters_are_named(workspace: Workspace, args: tuple[str, ...], message: str) -> None:
    result = run(workspace, "funnel", *args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stdout == ""


def test_rebuild_recomputes_the_summaries_from_the_stored_history(
        workspace: Workspace) -> None:
    engine = workspace.engine()
    with writing(engine) as connection:  # as after restoring the tables without them
        for table in SUMMARIES:
            connection.execute(delete(table))
    engine.dispose()
    assert sections(run(workspace, "sources", *FEBRUARY, "--format", "csv").stdout)[
        "By lead source"] == [["source", "leads", "won", "conversion", "value", "won value"]]
    result = run(workspace, "rebuild")
    assert result.exit_code == 0, result.output
    assert "summaries of 8 leads (22 stage entries) and 7 emails" in result.stdout
    rows = sections(run(workspace, "sources", *FEBRUARY, "--format", "csv").stdout)
    assert rows["By lead source"][1:] == [["ads", "3", "0", "0.0", "500.0", "0.0"],
                                          ["webinar", "2", "1", "0.5", "3000.0", "1000.0"],
                                          ["event", "1", "0", "0.0", "4000.0", "0.0"]]
